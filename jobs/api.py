"""Kudu's WebJobs REST API: triggered and continuous jobs.

Same routes, verbs, status codes and JSON names as Kudu. Kudu's error bodies are
plain text, and so are ours.
"""

from __future__ import annotations

import json
import logging
import re

from django.http import FileResponse, HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from core.packaging import PackageError, UploadTooLarge
from history.models import Run
from history.services import RunConflict, RunRequestError
from jobs import selectors
from jobs.arm import arm_settings, arm_wrap, is_arm_request
from jobs.models import WebJob
from jobs.services import (
    DeployConflict,
    JobNotFound,
    run_request,
    upload_spool,
    webjob_delete,
    webjob_deploy,
    webjob_get,
    webjob_settings_put,
    webjob_start,
    webjob_stop,
)

log = logging.getLogger("jobs.api")

ERR_NO_DISPOSITION = "Missing Content-Disposition header."
ERR_SETTINGS_BODY = "The settings body must be a JSON object: {detail}"
ERR_UNKNOWN_RUN = "No run {run_id!r} of WebJob {name!r}."
ERR_NO_LOG = "No {filename} for {kind} WebJob {name!r} yet."
TRIGGERED = WebJob.Kind.TRIGGERED
CONTINUOUS = WebJob.Kind.CONTINUOUS
# Files of a continuous job's data folder served at Kudu's VFS paths.
CONTINUOUS_LOGS = (
    "job_log.txt",
    "job_prev_log.txt",
    "output_log.txt",
    "output_prev_log.txt",
)

_FILENAME_RE = re.compile(r"""filename\*?=(?:UTF-8'')?("([^"]*)"|[^;]+)""", re.I)


def text(message: str, status: int) -> HttpResponse:
    return HttpResponse(
        message, status=status, content_type="text/plain; charset=utf-8"
    )


def base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def parse_disposition(header: str) -> str | None:
    match = _FILENAME_RE.search(header or "")
    if not match:
        return None
    return (match.group(2) if match.group(2) is not None else match.group(1)).strip()


VIEW = ("jobs.view_webjob",)
CHANGE = ("jobs.change_webjob",)


class KuduView(APIView):
    """A Kudu route. What each method needs: ``permissions_required``
    (config/permissions.py); reading is `view` unless a view says more."""

    kind = TRIGGERED
    permissions_required = {"GET": VIEW}
    # What a 200 holds, for Kudu's ARM mode (x-ms-geo-location): jobs/arm.py.
    arm_shape: str | None = None

    def finalize_response(self, request, response, *args, **kwargs):
        if (
            self.arm_shape
            and isinstance(response, Response)
            and response.status_code == 200
            and is_arm_request(request)
        ):
            response.data = arm_wrap(request, response.data, shape=self.arm_shape)
        return super().finalize_response(request, response, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(
            exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
        ):
            response = text(str(exc.detail), 401)
            response["WWW-Authenticate"] = self.get_authenticate_header(self.request)
            return response
        if isinstance(exc, exceptions.PermissionDenied):
            return text(str(exc.detail), 403)  # Kudu's errors are plain text
        if isinstance(exc, JobNotFound):
            return text(str(exc), 404)
        if isinstance(exc, UploadTooLarge):
            return text(str(exc), 413)
        if isinstance(exc, PackageError | RunRequestError):
            return text(str(exc), 400)
        if isinstance(exc, RunConflict | DeployConflict):
            return text(str(exc), 409)
        return super().handle_exception(exc)


class WebJobList(KuduView):
    """GET /api/webjobs: triggered jobs, then continuous jobs."""

    arm_shape = "jobs"

    def get(self, request):
        base = base_url(request)
        return Response(
            [
                selectors.job_json(job, base=base, latest=latest)
                for job, latest in selectors.webjob_list(kind=TRIGGERED)
            ]
            + selectors.continuous_list(base=base)
        )


class TriggeredList(KuduView):
    arm_shape = "jobs"

    def get(self, request):
        base = base_url(request)
        return Response(
            [
                selectors.job_json(job, base=base, latest=latest)
                for job, latest in selectors.webjob_list(kind=self.kind)
            ]
        )


class TriggeredDetail(KuduView):
    arm_shape = "job"

    def required_permissions(self, request) -> tuple[str, ...]:
        """A PUT deploys: *add* for a new job, *change* over an existing one;
        in ARM mode it only sets the settings: *change*."""
        if request.method == "PUT" and is_arm_request(request):
            return CHANGE
        if request.method == "PUT":
            exists = WebJob.objects.filter(
                kind=self.kind, name=self.kwargs["name"]
            ).exists()
            return CHANGE if exists else ("jobs.add_webjob",)
        if request.method == "DELETE":
            return ("jobs.delete_webjob",)
        return VIEW

    def render(self, request, job: WebJob) -> Response:
        return Response(
            selectors.job_json(
                job, base=base_url(request), latest=selectors.webjob_latest_run(job)
            )
        )

    def get(self, request, name: str):
        return self.render(request, webjob_get(name=name, kind=self.kind))

    def put(self, request, name: str):
        if is_arm_request(request):  # Kudu's Create*JobArm: settings.job only
            job = webjob_get(name=name, kind=self.kind)
            webjob_settings_put(job=job, raw=arm_settings(request))
            return HttpResponse(status=200)
        filename = parse_disposition(request.headers.get("Content-Disposition", ""))
        if not filename:
            return text(ERR_NO_DISPOSITION, 400)
        media = request.content_type.split(";")[0].strip().lower()
        is_zip = media == "application/zip" or filename.lower().endswith(".zip")
        upload = upload_spool(request._request)
        try:
            job = webjob_deploy(
                name=name,
                kind=self.kind,
                filename=filename,
                upload=upload,
                is_zip=is_zip,
                deployed_by=request.user.get_username(),
            )
        finally:
            upload.unlink(missing_ok=True)
        return self.render(request, job)

    def delete(self, request, name: str):
        webjob_delete(name=name, kind=self.kind)  # unknown: silent 200, as Kudu
        return HttpResponse(status=200)


class ThenResponse(HttpResponse):
    """A response that does the work in `then` once it has been sent (the
    server calls close() after writing it); each piece is done even when one
    before it failed (logged: the answer is gone already)."""

    def __init__(self, *args, then: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.then = then

    def close(self) -> None:
        try:
            super().close()
        finally:
            then, self.then = self.then, []
            for work in then:
                try:
                    work()
                except Exception:
                    log.exception("work after an answer failed")


class TriggeredRun(KuduView):
    permissions_required = {"POST": ("jobs.run_webjob",)}

    def post(self, request, name: str):
        job = webjob_get(name=name, kind=self.kind, newest_run_id=True)
        arguments = request.query_params.get("arguments", "")
        trigger = "External - " + request.headers.get("User-Agent", "")
        later = []
        run = run_request(job=job, trigger=trigger, arguments=arguments, later=later)
        # The run id and Location are answered before the job starts: the
        # launcher that holds the run ready starts it once the answer is sent.
        response = ThenResponse(
            status=200 if "x-ms-geo-location" in request.headers else 202,
            then=later,
        )
        response["Location"] = (
            f"{base_url(request)}/api/triggeredwebjobs/{job.name}/history/{run.run_id}"
        )
        return response


class TriggeredHistory(KuduView):
    arm_shape = "history"

    def get(self, request, name: str):
        job = webjob_get(name=name, kind=self.kind)
        base = base_url(request)
        runs = selectors.run_history(job)
        return Response(
            {"runs": [selectors.run_json(r, base=base, job=job) for r in runs]}
        )


class TriggeredRunDetail(KuduView):
    arm_shape = "run"

    def get(self, request, name: str, run_id: str):
        job = webjob_get(name=name, kind=self.kind)
        run = Run.objects.filter(job=job, run_id=run_id).first()
        if run is None:
            return text(ERR_UNKNOWN_RUN.format(run_id=run_id, name=name), 404)
        return Response(selectors.run_json(run, base=base_url(request), job=job))


class JobSettingsView(KuduView):
    permissions_required = {"GET": VIEW, "PUT": CHANGE}

    def get(self, request, name: str):
        job = WebJob.objects.filter(kind=self.kind, name=name).first()
        return Response(job.settings if job else {})  # Kudu: {} even when unknown

    def put(self, request, name: str):
        job = webjob_get(name=name, kind=self.kind)
        try:
            raw = json.loads(request._request.body or b"null")
        except (ValueError, RecursionError) as exc:  # 5,000-digit numbers too
            return text(ERR_SETTINGS_BODY.format(detail=exc), 400)
        webjob_settings_put(job=job, raw=raw)
        return HttpResponse(status=200)


class OutputLog(KuduView):
    """The run's output_log.txt, at the path of Kudu's VFS URL."""

    def get(self, request, kind: str, name: str, run_id: str):
        job = webjob_get(name=name, kind=kind)
        run = Run.objects.filter(job=job, run_id=run_id).first()
        if run is None or not run.output_path.exists():
            return text(ERR_UNKNOWN_RUN.format(run_id=run_id, name=name), 404)
        response = FileResponse(
            open(run.output_path, "rb"), content_type="text/plain; charset=utf-8"
        )
        if request.query_params.get("download"):
            response["Content-Disposition"] = (
                f'attachment; filename="{job.name}-{run.run_id}-output_log.txt"'
            )
        return response


# --- continuous jobs ---------------------------------------------------------------


class ContinuousList(KuduView):
    kind = CONTINUOUS
    arm_shape = "jobs"

    def get(self, request):
        return Response(selectors.continuous_list(base=base_url(request)))


class ContinuousDetail(TriggeredDetail):
    """GET / PUT (deploy) / DELETE, as for triggered jobs."""

    kind = CONTINUOUS

    def render(self, request, job: WebJob) -> Response:
        return Response(selectors.continuous_json(job, base=base_url(request)))


class ContinuousStart(KuduView):
    """POST .../start: 200, empty body; a triggered or unknown job is 404 (Kudu)."""

    kind = CONTINUOUS
    permissions_required = {"POST": CHANGE}

    def post(self, request, name: str):
        webjob_start(job=webjob_get(name=name, kind=self.kind))
        return HttpResponse(status=200)


class ContinuousStop(KuduView):
    kind = CONTINUOUS
    permissions_required = {"POST": CHANGE}

    def post(self, request, name: str):
        webjob_stop(job=webjob_get(name=name, kind=self.kind))
        return HttpResponse(status=200)


class ContinuousLog(KuduView):
    """job_log.txt (and its siblings) at the path of Kudu's VFS URL; for a
    triggered job, job_scheduler.log (its `scheduler_logs_url`)."""

    kind = CONTINUOUS
    files = CONTINUOUS_LOGS

    def get(self, request, name: str, filename: str):
        job = webjob_get(name=name, kind=self.kind)
        path = job.data_dir / filename
        if filename not in self.files or not path.is_file():
            return text(
                ERR_NO_LOG.format(filename=filename, kind=self.kind, name=name), 404
            )
        response = FileResponse(
            open(path, "rb"), content_type="text/plain; charset=utf-8"
        )
        if request.query_params.get("download"):
            response["Content-Disposition"] = (
                f'attachment; filename="{job.name}-{filename}"'
            )
        return response


class SchedulerLog(ContinuousLog):
    kind = TRIGGERED
    files = ("job_scheduler.log", "job_scheduler_prev.log")
