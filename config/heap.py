"""The heap a process builds while it starts (Django, DRF, django-q2, the azure
SDK: a few hundred thousand objects) is kept for its whole life; the cyclic
garbage collector need not walk it again and again.

Without this, every full collection of a long-running emulator process walks
those objects: a Kudu list of 1,000 jobs (10,000 objects made and dropped per
call) paid 40-60 ms for one collection in about every tenth call, its p95 (issue
18, bench/run_trigger.py --only lists). `gc.freeze()` moves what exists now to
the permanent generation (Python's documented idiom for pre-fork servers, the
one Instagram described): later collections look at new objects only. What is
frozen is never collected, so it is done once the start-up garbage is gone.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect the start-up garbage, then keep the rest out of later collections.
    Called once a process has loaded what it keeps (apps ready; the WSGI
    application and its URLconf built)."""
    gc.collect()
    gc.freeze()
