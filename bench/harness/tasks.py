"""`python -m bench.harness.tasks <module> <task> <json kwargs>`: a benchmark's
task that needs Django (the product's rows read back, jobs created), run with
an instance's environment (`Instance.django`); prints its result as JSON.

`<module>` imports the project's models at its top, so it is imported only once
Django is set up here; its `TASKS` maps a task's name to its function.
"""

from __future__ import annotations

import importlib
import json
import sys

import django


def main(module: str, name: str, kwargs: str) -> None:
    django.setup()
    # The module imports the project's models at its top: the apps are loaded now.
    tasks = importlib.import_module(module).TASKS
    print(json.dumps(tasks[name](**json.loads(kwargs))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
