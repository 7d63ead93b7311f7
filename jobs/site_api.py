"""Kudu's site routes around WebJobs: zip deployment, the deployment records,
and web hooks. Kudu's routes, codes and JSON names; errors in Kudu's plain text
(jobs.api.KuduView), or `{"Message": ...}` where Kudu answers an HttpError.

Permissions (config/permissions.py):
- a zip deployment needs `jobs.add_deployment` (the site's content), and for
  what the package does to WebJobs `jobs.add_webjob` (new jobs),
  `jobs.change_webjob` (replaced ones), `jobs.delete_webjob` (jobs a previous
  package deployed and this one lacks); checked once the package is read,
  before anything changes;
- reading deployments needs `jobs.view_deployment`;
- hooks: `jobs.view_webhook` to list, `jobs.add_webhook` to subscribe,
  `jobs.delete_webhook` to unsubscribe.
"""

from __future__ import annotations

import json
from datetime import UTC

from django.http import HttpResponse
from django.utils import timezone
from rest_framework.response import Response

from config.permissions import Forbidden
from jobs import selectors
from jobs.api import KuduView, base_url, text
from jobs.deployments import (
    DeploymentConflict,
    deployment_begin,
    zip_deploy,
    zip_overlay,
)
from jobs.models import Deployment, WebHook
from jobs.services import upload_spool
from jobs.webhooks import (
    ERR_BODY,
    HookConflict,
    HookError,
    hook_json,
    hook_subscribe,
)

ADD_DEPLOYMENT = ("jobs.add_deployment",)
VIEW_DEPLOYMENT = ("jobs.view_deployment",)
ERR_PACKAGE_URI = (
    "A packageUri body is not supported by the emulator (it fetches nothing from "
    "the network): send the zip itself as the request body."
)
ERR_NOT_FOUND = "Deployment '{id}' not found."
ERR_NO_LOG = "No log found for '{id}'."
ERR_ZIP_FILE = (
    "We don't support putting an individual file using the zip controller: end "
    "the path with '/' (a folder under site/wwwroot)."
)
ERR_ZIP_PATH = "Only site/wwwroot and the folders under it take a zip, not {path!r}."
RETRY_AFTER = "30"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _message(status: int, message: str) -> Response:
    """Kudu's HttpError body."""
    return Response({"Message": message}, status=status)


class PackageView(KuduView):
    """A push of an app package; the permissions of what it does to WebJobs
    are checked once it is read (`check`)."""

    def handle_exception(self, exc):
        if isinstance(exc, DeploymentConflict):
            return text(str(exc), 409)
        return super().handle_exception(exc)

    def check(self, plan) -> None:
        user = self.request.user
        missing = [p for p in plan.permissions_needed() if not user.has_perm(p)]
        if missing:
            raise Forbidden(user=user, missing=missing)

    def spool(self, request):
        media = request.content_type.split(";")[0].strip().lower()
        if media == "application/json":
            return None
        return upload_spool(request._request)


class ZipDeploy(PackageView):
    """POST/PUT /api/zipdeploy: the app package replaces the previous one.

    Sync: 200, empty, once done. `isAsync=true`: 202 with Kudu's `Location`
    (/api/deployments/latest?...) and `Retry-After`; the emulator deploys
    within the request either way, so the deployment is done when the 202
    arrives (docs/behaviour.md).
    """

    permissions_required = {"POST": ADD_DEPLOYMENT, "PUT": ADD_DEPLOYMENT}

    def post(self, request):
        upload = self.spool(request)
        if upload is None:
            return text(ERR_PACKAGE_URI, 400)
        try:
            query = request.query_params
            deployment = deployment_begin(
                author=query.get("author", ""),
                author_email=query.get("authorEmail", ""),
                deployer=query.get("deployer", "ZipDeploy"),
                message=query.get("message", ""),
                deployed_by=request.user.get_username(),
            )
            zip_deploy(
                upload=upload,
                deployment=deployment,
                deployed_by=request.user.get_username(),
                check=self.check,
            )
        finally:
            upload.unlink(missing_ok=True)
        if _truthy(query.get("isAsync")):
            response = HttpResponse(status=202)
            stamp = timezone.now().astimezone(UTC).strftime("%Y-%m-%d_%H-%M-%SZ")
            response["Location"] = (
                f"{base_url(request)}/api/deployments/latest"
                f"?deployer={deployment.deployer}&time={stamp}"
            )
            response["Retry-After"] = RETRY_AFTER
        else:
            response = HttpResponse(status=200)
        if _truthy(query.get("trackDeploymentProgress")):
            response["SCM-DEPLOYMENT-ID"] = deployment.id
        return response

    put = post


class ZipPut(PackageView):
    """PUT /api/zip/site/wwwroot/[folder/]: the zip lands over that folder
    (Kudu: "more of a PATCH than a PUT"); nothing is deleted, WebJobs in it are
    deployed; no deployment record, as Kudu."""

    permissions_required = {"PUT": ADD_DEPLOYMENT}

    def put(self, request, path: str = ""):
        if path and not path.endswith("/"):
            return text(ERR_ZIP_FILE, 404)
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["site", "wwwroot"]:
            return text(ERR_ZIP_PATH.format(path=path), 404)
        upload = self.spool(request)
        if upload is None:
            return text(ERR_PACKAGE_URI, 400)
        try:
            zip_overlay(
                upload=upload,
                under="/".join(parts[2:]),
                deployed_by=request.user.get_username(),
                check=self.check,
            )
        finally:
            upload.unlink(missing_ok=True)
        return HttpResponse(status=200)


class DeploymentList(KuduView):
    """GET /api/deployments: newest first."""

    permissions_required = {"GET": VIEW_DEPLOYMENT}
    arm_shape = "list"

    def get(self, request):
        base = base_url(request)
        active = selectors.deployment_active_id()
        return Response(
            [
                selectors.deployment_json(d, base=base, active_id=active)
                for d in Deployment.objects.order_by("-received_time")
            ]
        )


class DeploymentDetail(KuduView):
    """GET /api/deployments/{id}, and /latest: 202 while one is in progress
    (Location, Retry-After), else the one that ended last; 404 when none."""

    permissions_required = {"GET": VIEW_DEPLOYMENT}
    arm_shape = "entry"

    def get(self, request, deployment_id: str):
        active = selectors.deployment_active_id()
        if deployment_id == "latest":
            pending = Deployment.objects.filter(in_progress=True).first()
            if pending is not None:
                response = Response(
                    selectors.deployment_json(pending, base=None, active_id=active),
                    status=202,
                )
                response["Location"] = request.build_absolute_uri()
                response["Retry-After"] = RETRY_AFTER
                return response
            found = (
                Deployment.objects.filter(end_time__isnull=False)
                .order_by("-end_time")
                .first()
            )
        else:
            found = Deployment.objects.filter(pk=deployment_id).first()
        if found is None:
            return _message(404, ERR_NOT_FOUND.format(id=deployment_id))
        return Response(
            selectors.deployment_json(found, base=base_url(request), active_id=active)
        )


class DeploymentLog(KuduView):
    """GET /api/deployments/{id}/log: Kudu's LogEntry list."""

    permissions_required = {"GET": VIEW_DEPLOYMENT}
    arm_shape = "list"

    def get(self, request, deployment_id: str):
        found = Deployment.objects.filter(pk=deployment_id).first()
        if found is None:
            return _message(404, ERR_NO_LOG.format(id=deployment_id))
        return Response(selectors.deployment_log_json(found))


class DeploymentLogEntry(KuduView):
    """GET /api/deployments/{id}/log/{entry}: an entry's details (none here)."""

    permissions_required = {"GET": VIEW_DEPLOYMENT}

    def get(self, request, deployment_id: str, entry_id: str):
        found = Deployment.objects.filter(pk=deployment_id).first()
        if found is None or not any(e["id"] == entry_id for e in found.log):
            return _message(404, ERR_NO_LOG.format(id=f"{deployment_id}/{entry_id}"))
        return Response([])


# --- web hooks ----------------------------------------------------------------------


class HookList(KuduView):
    """GET /api/hooks (all subscriptions), POST /api/hooks (subscribe: 201)."""

    permissions_required = {
        "GET": ("jobs.view_webhook",),
        "POST": ("jobs.add_webhook",),
    }

    def handle_exception(self, exc):
        if isinstance(exc, HookConflict):
            return HttpResponse(status=409)  # Kudu: Conflict, empty
        if isinstance(exc, HookError):
            return text(str(exc), 400)
        return super().handle_exception(exc)

    def get(self, request):
        return Response([hook_json(h) for h in WebHook.objects.all()])

    def post(self, request):
        try:
            body = json.loads(request._request.body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise HookError(ERR_BODY)
        hook, _ = hook_subscribe(
            url=body.get("url"),
            event=body.get("event"),
            insecure_ssl=body.get("insecure_ssl", False),
            base_url=base_url(request),
        )
        return Response(hook_json(hook), status=201)


class HookDetail(KuduView):
    """GET /api/hooks/{id}; DELETE (200, also for an unknown id, as Kudu)."""

    permissions_required = {
        "GET": ("jobs.view_webhook",),
        "DELETE": ("jobs.delete_webhook",),
    }

    def get(self, request, hook_id: str):
        hook = WebHook.objects.filter(pk=hook_id).first()
        if hook is None:  # Kudu answers 200 `null` here (a bug): not copied
            return _message(404, f"Hook '{hook_id}' not found.")
        return Response(hook_json(hook))

    def delete(self, request, hook_id: str):
        WebHook.objects.filter(pk=hook_id).delete()
        return HttpResponse(status=200)
