"""`python -m bench.lateness.tasks <task> <json kwargs>`: one of rows.py's
tasks, run with an instance's environment; prints its result as JSON."""

from __future__ import annotations

import json
import sys

import django


def main(name: str, kwargs: str) -> None:
    django.setup()
    # rows.py imports the project's models at its top: the apps are loaded now.
    from bench.lateness import rows

    print(json.dumps(rows.TASKS[name](**json.loads(kwargs))))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
