"""One instance of the emulator: web server, queue cluster, scheduling engine, the
launcher of runs and the continuous-jobs host, started and stopped
together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jobs.processes import alive, become_subreaper, descendants, end_tree, reap

# How long children get to stop after SIGTERM before SIGKILL. Running triggered
# jobs get SIGTERM through their monitors, which wait their stopping_wait_time.
STOP_GRACE = float(os.environ.get("WEBJOBS_SHUTDOWN_GRACE", "35"))


class Command(BaseCommand):
    help = (
        "Run one emulator instance: gunicorn, django-q2 cluster, scheduler engine, "
        "run launcher and continuous-jobs host, until Ctrl-C/SIGTERM."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-web", action="store_true", help="queue only")

    def handle(
        self, *args, host: str, port: int, web_workers: int, no_web: bool, **options
    ) -> None:
        become_subreaper()
        self.stopping = False
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children: dict[str, subprocess.Popen] = {}
        if not no_web:
            children["web"] = self._spawn(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"{host}:{port}",
                    "--workers",
                    str(web_workers),
                    "--threads",
                    "4",
                    "--graceful-timeout",
                    "10",
                    "--timeout",
                    "120",
                    "--access-logfile",
                    "-",
                    "--log-level",
                    "warning",
                ]
            )
        children["queue"] = self._spawn([*manage, "qcluster"])
        children["engine"] = self._spawn([*manage, "runscheduler"])
        # WebJob runs start in the launcher (scheduled and on demand); it
        # aborts its running jobs on SIGTERM the way run monitors do.
        for shard in range(settings.WEBJOBS_LAUNCHERS):
            children[f"launcher {shard}"] = self._spawn(
                [*manage, "runlauncher", "--shard", str(shard)]
            )
        # The host stops its continuous jobs gracefully on SIGTERM (shutdown file,
        # stopping_wait_time, then kill), well within STOP_GRACE / 2.
        children["host"] = self._spawn([*manage, "runhost"])
        self.stdout.write(
            f"Instance {settings.WEBSITE_INSTANCE_ID[:6]}: "
            + (f"web on http://{host}:{port}/admin/ " if not no_web else "")
            + f"(pid {os.getpid()}); Ctrl-C stops everything."
        )
        failed = ""
        while not self.stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    failed = f"The {name} process exited with code {proc.returncode}."
                    self.stopping = True
            reap_others(children)
            time.sleep(0.2)
        self.stdout.write("Stopping...")
        for proc in children.values():
            end_tree(proc.pid, grace=STOP_GRACE)
        # Run monitors orphaned by exited queue workers were reparented to us.
        end_tree(os.getpid(), grace=STOP_GRACE, include_root=False)
        reap()
        self.stdout.write("Stopped.")
        if failed:
            raise CommandError(failed)

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop the children
        # in order; each child's whole group is ended by its id.
        return subprocess.Popen(argv, start_new_session=True, cwd=settings.BASE_DIR)

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True


def reap_others(children: dict[str, subprocess.Popen]) -> None:
    """Reap orphans that exited, without stealing our direct children's status."""
    known = {p.pid for p in children.values()}
    for pid in list(_zombie_children()):
        if pid not in known:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _zombie_children():
    me = os.getpid()
    for pid in descendants(me):
        if not alive(pid):
            yield pid
