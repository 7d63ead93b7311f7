"""What web hooks cost the end of a run (history.services.run_finish).

    python bench/hook_overhead.py [--runs 200] [--slow 0.2]

A run ends in a run monitor or a launcher, which call run_finish; with web
hooks (jobs/webhooks.py) that call also looks for subscribers and enqueues one
django-q2 task each. This times run_finish, in this process, on the embedded
set-up (SQLite and django-q2's ORM broker in a temporary WEBJOBS_ROOT), for:

- **no hook**: run_finish as it was before hooks (the hook list emptied);
- **no subscriber**: the hook registered, nobody subscribed (one query);
- **1 subscriber, enqueued**: what the emulator does (one task inserted);
- **1 subscriber, inline POST** (the named alternative, what Kudu does): the
  POST made in run_finish itself, to a loopback receiver answering at once,
  and one answering after `--slow` seconds.

Prints a table of p50/p95/max in milliseconds. Numbers on a busy machine are
preliminary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def setup(root: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        WEBJOBS_ROOT=root,
        DATABASE_URL="",
        REDIS_URL="",
        Q_SYNC="0",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def receiver(delay: float) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            time.sleep(delay)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/hook"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--slow", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as root:
        setup(root)
        # The project is imported once Django is set up (setup above).
        from django.utils import timezone

        from config.clock import clock_now
        from history import hooks
        from history.models import RunStatus
        from history.services import run_build, run_finish, run_insert
        from jobs import webhooks
        from jobs.models import WebHook, WebJob
        from jobs.selectors import run_json

        job = WebJob.objects.create(
            name="bench",
            kind="triggered",
            run_command="run.sh",
            script_host="BashScriptHost",
            extension=".sh",
            deployed_at=clock_now(),
        )
        fast, fast_url = receiver(0.0)
        slow, slow_url = receiver(args.slow)

        def inline(run) -> None:  # Kudu's way: post in the run's own path
            run.refresh_from_db()
            body = json.dumps(run_json(run, base="http://x", job=job))
            for hook in WebHook.objects.all():
                webhooks._post(hook, body)

        def measure(label: str, hook_fn, url: str | None) -> tuple[str, list[float]]:
            hooks.run_finished_hooks[:] = [hook_fn] if hook_fn else []
            WebHook.objects.all().delete()
            if url:
                WebHook.objects.create(
                    id=str(time.time_ns()),
                    event="TriggeredJobFinished",
                    url=url,
                    base_url="http://x",
                )
            times = []
            for _ in range(args.runs):
                run = run_insert(run_build(job=job, trigger="bench"))
                started = time.perf_counter()
                run_finish(run=run, status=RunStatus.SUCCESS, exit_code=0)
                times.append((time.perf_counter() - started) * 1000)
            return label, times

        rows = [
            measure("no hook (before)", None, None),
            measure("no subscriber", webhooks.run_finished, None),
            measure("1 subscriber, enqueued", webhooks.run_finished, fast_url),
            measure("1 subscriber, inline POST (fast)", inline, fast_url),
            measure(f"1 subscriber, inline POST ({args.slow} s)", inline, slow_url),
        ]
        fast.shutdown()
        slow.shutdown()
        print(f"run_finish, {args.runs} runs each, {timezone.now():%Y-%m-%d %H:%M}Z")
        print(f"load average: {os.getloadavg()[0]:.2f}")
        print(f"{'configuration':40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for label, times in rows:
            ordered = sorted(times)
            p95 = ordered[int(len(ordered) * 0.95) - 1]
            print(
                f"{label:40} {statistics.median(times):8.2f} {p95:8.2f}"
                f" {max(times):8.2f}"
            )


if __name__ == "__main__":
    main()
