"""Every refusal in its API family's shape, whoever raises it.

The views answer their own errors (jobs/api.py: Kudu's plain text; config/arm.py:
ARM's ``{"error": {"code", "message"}}``); this is what answers the rest: DRF's
refusals that no view maps (405, a lock-out's 429, a body DRF could not parse),
Django's 404 for a path no route matches, and the lock-out axes answers to
the failed login that locks a user out. Both Kudu and Azure answer those
in the family's own shape, never DRF's ``{"detail": ...}`` or an HTML page, so
a client parses every error of an API the same way.

The family is the path's: ``/subscriptions/...`` is ARM, the emulator's own API
(``/api/emulator/...``) answers ARM's body too (as its views do), the rest is Kudu.
"""

from __future__ import annotations

from axes.helpers import get_lockout_message
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.arm import STATUS_CODES
from jobs.auth import ERR_LOCKED

ERR_NO_ROUTE = "No route {path!r} here."
ARM_PREFIXES = ("/subscriptions/", "/api/emulator/")
# ARM's codes for statuses config.arm does not name (ARM's own spelling).
_ARM_CODES = {**STATUS_CODES, 401: "AuthenticationFailed"}
# Response headers a refusal keeps (WWW-Authenticate of a 401, Allow of a 405,
# Retry-After of a 429).
_KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After")


def is_arm_path(path: str) -> bool:
    lowered = path.lower()  # ARM paths are case-insensitive (config.arm)
    return lowered.startswith(ARM_PREFIXES)


def error_response(path: str, status: int, message: str) -> HttpResponse:
    """The refusal of the family `path` belongs to."""
    if is_arm_path(path):
        code = _ARM_CODES.get(status, "BadRequest")
        return JsonResponse(
            {"error": {"code": code, "message": message}}, status=status
        )
    return HttpResponse(
        message, status=status, content_type="text/plain; charset=utf-8"
    )


def api_exception_handler(exc, context) -> HttpResponse | None:
    """DRF's EXCEPTION_HANDLER: DRF decides the status and headers, the family
    the body. None (a server error) is left to Django, as DRF leaves it."""
    response: Response | None = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = getattr(exc, "detail", None)
    message = _words(detail) if detail is not None else str(exc) or "Not found."
    shaped = error_response(context["request"].path, response.status_code, message)
    for name in _KEPT_HEADERS:
        if name in response:
            shaped[name] = response[name]
    return shaped


def _words(detail) -> str:
    """A DRF detail (a string, or a list or dict of them) as one message."""
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_words(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_words(item) for item in detail)
    return str(detail)


def not_found(request, exception=None) -> HttpResponse:
    """Django's handler404: a path no route matches."""
    return error_response(
        request.path, 404, ERR_NO_ROUTE.format(path=request.path[:200])
    )


def lockout(request, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the answer to the failed login that locks a user
    out (those after it are refused by jobs.auth, in the view's shape); the
    portal's login page keeps axes' own."""
    if request.path.startswith("/admin/"):
        return HttpResponse(
            get_lockout_message(), status=settings.AXES_HTTP_RESPONSE_CODE
        )
    return error_response(request.path, 429, ERR_LOCKED)
