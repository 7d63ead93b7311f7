"""One instance of the emulator: web server, queue cluster, scheduling engine, the
launcher of runs and the continuous-jobs host, started and stopped
together.

A stop always stops everything, within WEBJOBS_SHUTDOWN_GRACE:
- every child is asked at once (SIGTERM), and whatever is left of the instance's
  processes when the grace is over is killed by process group (a child busy in
  a long computation, or stopped, does not hold the others up);
- the processes are started by a *keeper*: a child of this command in a session
  of its own, a subreaper (orphans of the instance, such as run monitors, become
  its children), which gets SIGTERM when this command dies, even by kill -9
  (PR_SET_PDEATHSIG): it then stops the instance as above. This command only
  waits for it and passes Ctrl-C / SIGTERM on.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import traceback

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.web import MAX_THREADS, MAX_WORKERS, gunicorn_command
from emulator.azurite import azurite_start
from jobs.processes import (
    alive,
    become_subreaper,
    descendants,
    die_with,
    end_tree,
    end_trees,
    parent_death_signal,
    pdeathsig_wrapper,
    reap,
    signal_quietly,
)

# How long children get to stop after SIGTERM before SIGKILL. Running triggered
# jobs get SIGTERM through their monitors, which wait their stopping_wait_time.
STOP_GRACE = float(os.environ.get("WEBJOBS_SHUTDOWN_GRACE", "35"))


def count_up_to(maximum: int):
    """An argparse type: a whole number from 1 to `maximum`."""

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be 1 to {maximum}, not {value}")
        return value

    return parse


class Command(BaseCommand):
    help = (
        "Run one emulator instance: gunicorn, django-q2 cluster, scheduler engine, "
        "run launcher and continuous-jobs host (and Azurite's queue service with "
        "AZURITE=1), until Ctrl-C/SIGTERM."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument(
            "--web-workers",
            type=count_up_to(MAX_WORKERS),
            default=settings.WEB_WORKERS,
            help="gunicorn workers (WEBJOBS_WEB_WORKERS; default one per two cores)",
        )
        parser.add_argument(
            "--web-threads",
            type=count_up_to(MAX_THREADS),
            default=settings.WEB_THREADS,
            help="threads of each gunicorn worker (WEBJOBS_WEB_THREADS; default 8)",
        )
        parser.add_argument("--no-web", action="store_true", help="queue only")

    def handle(
        self,
        *args,
        host: str,
        port: int,
        web_workers: int,
        web_threads: int,
        no_web: bool,
        **options,
    ) -> None:
        web = None
        if not no_web:
            address = f"{host}:{port}"
            web = (
                address,
                gunicorn_command(
                    address, workers=web_workers, threads=web_threads, access_log=True
                ),
            )
        front = os.getpid()
        become_subreaper()  # the keeper's orphans, should it die first
        self.stdout.flush()
        keeper = os.fork()
        if keeper == 0:
            code = 1
            try:
                os.setsid()  # a kill of this command's group spares it
                parent_death_signal(signal.SIGTERM)
                code = self._keep(web, front)
            except BaseException:  # noqa: BLE001  (a forked child must not return)
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

        def forward(signum, frame) -> None:  # Ctrl-C, SIGTERM: the keeper stops
            signal_quietly(keeper, signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        while True:
            try:
                _, status = os.waitpid(keeper, 0)
                break
            except InterruptedError:
                continue
        end_tree(os.getpid(), grace=STOP_GRACE, include_root=False)
        if os.waitstatus_to_exitcode(status) != 0:
            raise CommandError("The instance stopped because one of its processes did.")

    def _keep(self, web: tuple[str, list[str]] | None, front: int) -> int:
        """The keeper: start the instance's processes, watch them, stop them.
        `web`: the web server's address and command, None with --no-web."""
        become_subreaper()
        self.stopping = os.getppid() != front  # the front died before we looked
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children: dict[str, subprocess.Popen] = {}
        # Azurite first, so StorageQueue actions due at once find it listening.
        azurite = azurite_start() if settings.AZURITE else None
        if web is not None:
            children["web"] = self._spawn(web[1])
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
        if azurite is not None:  # stopped last: the queue sends to it until then
            children["azurite"] = azurite
        self.stdout.write(
            f"Instance {settings.WEBSITE_INSTANCE_ID[:6]}: "
            + (f"web on http://{web[0]}/admin/ " if web is not None else "")
            + (
                f"Azurite queues on http://127.0.0.1:{settings.AZURITE_QUEUE_PORT} "
                if azurite is not None
                else ""
            )
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
        self.stdout.flush()
        first = [p.pid for name, p in children.items() if name != "azurite"]
        # All together, then Azurite (the queue sends to it until then), then
        # what is left: run monitors orphaned by queue workers were reparented
        # to this keeper (a subreaper).
        end_trees(first, grace=STOP_GRACE, also=[os.getpid()])
        if "azurite" in children:
            end_tree(children["azurite"].pid, grace=5)
        end_tree(os.getpid(), grace=5, include_root=False)
        reap()
        self.stdout.write("Stopped.")
        if failed:
            self.stderr.write(failed)
            return 1
        return 0

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop the children
        # together; each child's whole group is ended by its id. Should the keeper
        # die (kill -9), each child gets SIGTERM.
        return subprocess.Popen(
            [*pdeathsig_wrapper(as_job=False, sig="TERM"), *argv],
            start_new_session=True,
            cwd=settings.BASE_DIR,
            preexec_fn=die_with(os.getpid(), as_job=False, sig=signal.SIGTERM),
        )

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
