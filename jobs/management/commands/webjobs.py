"""manage.py webjobs deploy | deploy-package | list | run [--wait] | logs [--follow] |
start | stop | delete"""

from __future__ import annotations

import getpass
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.packaging import PackageError
from history.models import Run, RunStatus
from history.selectors import run_status
from history.services import RunConflict, RunRequestError
from jobs import selectors
from jobs.deployments import DeploymentConflict, deployment_begin, zip_deploy
from jobs.models import WebJob
from jobs.services import (
    JobNotFound,
    run_request,
    upload_spool,
    webjob_delete,
    webjob_deploy,
    webjob_get,
    webjob_start,
    webjob_stop,
)

FINAL = (RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.ABORTED)
ERR_AMBIGUOUS = (
    "Both a triggered and a continuous WebJob are named {name!r}: say which with "
    "--type."
)
MSG_NO_WORKER = (
    "The run is still waiting for a queue worker after {seconds} s: is "
    "`manage.py runinstance` (or `manage.py qcluster`) running?"
)


class Command(BaseCommand):
    help = "Deploy, list, run, start, stop, read logs of and delete WebJobs."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        deploy = sub.add_parser(
            "deploy", help="Deploy a script or a zip (replaces the job)."
        )
        deploy.add_argument("path", type=Path)
        deploy.add_argument("--name", help="job name (default: the file name's stem)")
        deploy.add_argument(
            "--type",
            dest="kind",
            choices=["triggered", "continuous"],
            default="triggered",
        )
        package = sub.add_parser(
            "deploy-package",
            help="Deploy an app package (a zip with App_Data/jobs/...), as "
            "POST /api/zipdeploy does.",
        )
        package.add_argument("path", type=Path)
        package.add_argument("--message", default="Created via manage.py")
        sub.add_parser("list", help="List WebJobs with their latest run.")
        run = sub.add_parser("run", help="Run a triggered WebJob.")
        run.add_argument("name")
        run.add_argument(
            "--arguments", default="", help='e.g. --arguments "a \\"b c\\""'
        )
        run.add_argument(
            "--wait",
            action="store_true",
            help="stream the output live; exit non-zero if the run fails",
        )
        logs = sub.add_parser(
            "logs",
            help="Print a run's output log, or a continuous job's job_log.txt.",
        )
        logs.add_argument("name")
        logs.add_argument("run_id", nargs="?", help="default: the latest run")
        logs.add_argument("--follow", "-f", action="store_true")
        start = sub.add_parser("start", help="Start a continuous WebJob.")
        start.add_argument("name")
        stop = sub.add_parser(
            "stop", help="Stop a continuous WebJob on every instance."
        )
        stop.add_argument("name")
        delete = sub.add_parser("delete", help="Delete a WebJob with its history.")
        delete.add_argument("name")
        delete.add_argument(
            "--type", dest="kind", choices=["triggered", "continuous"], default=None
        )

    def handle(self, *args, action: str, **options) -> None:
        try:
            getattr(self, f"do_{action.replace('-', '_')}")(**options)
        except (
            PackageError,
            RunConflict,
            RunRequestError,
            JobNotFound,
            DeploymentConflict,
        ) as exc:
            raise CommandError(str(exc)) from None

    def do_deploy(self, *, path: Path, name: str | None, kind: str, **_) -> None:
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        name = name or path.stem
        with open(path, "rb") as f:
            upload = upload_spool(f)
        try:
            job = webjob_deploy(
                name=name,
                kind=kind,
                filename=path.name,
                upload=upload,
                is_zip=path.suffix.lower() == ".zip",
                deployed_by=getpass.getuser(),
            )
        finally:
            upload.unlink(missing_ok=True)
        self.stdout.write(
            f"Deployed {job.kind} WebJob {job.name!r}: runs {job.run_command}"
        )
        if job.error:
            self.stdout.write(self.style.WARNING(f"Warning: {job.error}"))

    def do_deploy_package(self, *, path: Path, message: str, **_) -> None:
        """All or nothing, as the API; the command runs as the operator, with
        every permission (config/permissions.py)."""
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with open(path, "rb") as f:
            upload = upload_spool(f)
        user = getpass.getuser()
        try:
            deployment = deployment_begin(
                author=user,
                author_email="",
                deployer="manage.py",
                message=message,
                deployed_by=user,
            )
            zip_deploy(upload=upload, deployment=deployment, deployed_by=user)
        finally:
            upload.unlink(missing_ok=True)
        for entry in deployment.log:
            self.stdout.write(entry["message"])
        self.stdout.write(f"Deployment {deployment.id} succeeded.")

    def do_list(self, **_) -> None:
        rows = selectors.webjob_list()
        if not rows:
            self.stdout.write("No WebJobs deployed.")
            return
        continuous = selectors.instance_statuses(
            [job for job, _ in rows if job.kind == WebJob.Kind.CONTINUOUS]
        )
        self.stdout.write(f"{'NAME':24} {'TYPE':11} {'LATEST RUN':20} STATUS")
        for job, latest in rows:
            if job.kind == WebJob.Kind.CONTINUOUS:
                _, detailed = selectors.continuous_status(job, continuous[job.pk])
                run_id, status = "-", ", ".join(detailed.splitlines())
            else:
                status = run_status(latest) if latest else "-"
                run_id = latest.run_id if latest else "-"
            self.stdout.write(f"{job.name:24} {job.type_label:11} {run_id:20} {status}")

    def do_run(self, *, name: str, arguments: str, wait: bool, **_) -> None:
        job = webjob_get(name=name, kind=WebJob.Kind.TRIGGERED)
        run = run_request(
            job=job, trigger="External - manage.py webjobs run", arguments=arguments
        )
        self.stdout.write(f"Run {run.run_id} of {job.name} requested.")
        if wait:
            status = self._follow(run, warn_unclaimed=True)
            if status != RunStatus.SUCCESS:
                raise CommandError(f"Run {run.run_id} ended {status}.")

    def do_logs(self, *, name: str, run_id: str | None, follow: bool, **_) -> None:
        job = WebJob.objects.filter(name=name).order_by("-kind").first()
        if job is not None and job.kind == WebJob.Kind.CONTINUOUS:
            self._job_log(job, follow=follow)
            return
        job = webjob_get(name=name, kind=WebJob.Kind.TRIGGERED)
        runs = job.runs.order_by("-run_id")
        run = runs.filter(run_id=run_id).first() if run_id else runs.first()
        if run is None:
            raise CommandError(f"No run {run_id or ''} of {name!r}.".replace("  ", " "))
        if follow:
            self._follow(run)
        elif run.output_path.exists():
            self.stdout.write(run.output_path.read_text(errors="replace"), ending="")

    def do_start(self, *, name: str, **_) -> None:
        webjob_start(job=webjob_get(name=name, kind=WebJob.Kind.CONTINUOUS))
        self.stdout.write(f"Started {name}: every instance's host runs it.")

    def do_stop(self, *, name: str, **_) -> None:
        webjob_stop(job=webjob_get(name=name, kind=WebJob.Kind.CONTINUOUS))
        self.stdout.write(f"Stopped {name}: it stays stopped until started.")

    def do_delete(self, *, name: str, kind: str | None, **_) -> None:
        kinds = (
            [kind]
            if kind
            else list(WebJob.objects.filter(name=name).values_list("kind", flat=True))
        )
        if len(kinds) > 1:
            raise CommandError(ERR_AMBIGUOUS.format(name=name))
        if not kinds or not webjob_delete(name=name, kind=kinds[0]):
            raise CommandError(f"No {kind or 'triggered'} WebJob named {name!r}.")
        self.stdout.write(f"Deleted {name}.")

    def _job_log(self, job: WebJob, *, follow: bool) -> None:
        """Print job_log.txt; with --follow, keep printing until Ctrl-C."""
        path, offset = job.data_dir / "job_log.txt", 0
        while True:
            try:
                with open(path, "rb") as f:
                    if f.seek(0, 2) < offset:  # rotated to job_prev_log.txt
                        offset = 0
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            offset += len(data)
            self.stdout.write(data.decode("utf-8", "replace"), ending="")
            self.stdout.flush()
            if not follow:
                return
            time.sleep(0.5)

    def _follow(self, run: Run, *, warn_unclaimed: bool = False) -> str:
        """Print the log as it grows until the run ends; returns the final status."""
        offset, started, warned = 0, time.monotonic(), False
        while True:
            run.refresh_from_db()
            status = run_status(run)
            if run.output_path.exists():
                with open(run.output_path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
                offset += len(data)
                self.stdout.write(data.decode("utf-8", "replace"), ending="")
                self.stdout.flush()
            if status in FINAL:
                return status
            waited = time.monotonic() - started
            if (
                warn_unclaimed
                and not warned
                and run.monitor_pid is None
                and waited > 10
            ):
                self.stderr.write(MSG_NO_WORKER.format(seconds=10))
                warned = True
            time.sleep(0.2)
