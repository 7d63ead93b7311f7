"""Named hooks through which a higher layer follows a run's life.

History records runs and knows nothing of who listens; the jobs app fills these
in its AppConfig.ready() (jobs/apps.py), and the call sites read
``for hook in run_finished_hooks: hook(run)``.
"""

from __future__ import annotations

from collections.abc import Callable

# A run became final (Success, Failed, Aborted), once, just after its row was
# updated; in the process that ended it (a run monitor, a launcher, a web
# request). A hook must be quick and must not raise: it runs on those paths.
run_finished_hooks: list[Callable[[object], None]] = []
