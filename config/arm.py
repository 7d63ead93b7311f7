"""What every ARM route of the emulator shares (Microsoft.Scheduler in scheduler/,
Microsoft.Web in jobs/): ARM's error body, the api-version check, the refusal
bodies of authentication and permissions, and case-insensitive paths.

The base knows no app: the views above say which api-versions they accept and
which permissions guard them (config/permissions.py).
"""

from __future__ import annotations

import re
from functools import partial

from django.urls import re_path
from django.urls.resolvers import RegexPattern
from django.utils.functional import cached_property
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from config.permissions import Forbidden, permission_words

ERR_NO_VERSION = (
    "The api-version query parameter (?api-version=) is required for all requests; "
    "use api-version={version}."
)
ERR_BAD_VERSION = (
    "The api-version '{value}' is invalid. The supported versions are '{versions}'."
)
ERR_AUTHORIZATION = (
    "The client '{user}' does not have authorization to perform action "
    "'{action}' over scope '{scope}' or the scope is invalid: it needs the "
    "permission {needed}."
)
# ARM's operation names, for the AuthorizationFailed message.
_ACTIONS = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
STATUS_CODES = {
    403: "Forbidden",
    404: "ResourceNotFound",
    405: "MethodNotAllowed",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def arm_error(status: int, code: str, message: str) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status)


class ArmBaseView(APIView):
    """An ARM route: ``api_versions`` (the first is the one an error suggests),
    ``arm_type`` (for the AuthorizationFailed message)."""

    api_versions: tuple[str, ...] = ()
    arm_type = ""

    def arm_action(self, request) -> str:
        if request.method == "POST":  # enable, run, start...: the path's last part
            verb = request.path.rstrip("/").rsplit("/", 1)[-1]
            return f"{self.arm_type}/{verb}/action"
        return f"{self.arm_type}/{_ACTIONS.get(request.method, 'read')}"

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        version = request.query_params.get("api-version")
        if not version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                ERR_NO_VERSION.format(version=self.api_versions[0]),
            )
        if version not in self.api_versions:
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                ERR_BAD_VERSION.format(
                    value=version, versions=", ".join(self.api_versions)
                ),
            )

    def handle_exception(self, exc):
        if isinstance(
            exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed
        ):
            response = arm_error(401, "AuthenticationFailed", str(exc.detail))
            header = self.get_authenticate_header(self.request)
            if header:
                response["WWW-Authenticate"] = header
            return response
        if isinstance(exc, Forbidden):
            message = ERR_AUTHORIZATION.format(
                user=exc.user_name,
                action=self.arm_action(self.request),
                scope=self.request.path,
                needed=permission_words(exc.missing),
            )
            return arm_error(403, "AuthorizationFailed", message)
        if isinstance(exc, ArmError):
            return arm_error(exc.status, exc.code, exc.message)
        if isinstance(exc, exceptions.APIException):
            code = STATUS_CODES.get(exc.status_code, "BadRequest")
            return arm_error(exc.status_code, code, str(exc.detail))
        return super().handle_exception(exc)


class IgnoreCaseRegexPattern(RegexPattern):
    """ARM paths are case-insensitive ("resourcegroups" is sent by some tools).

    An inline (?i) flag would make every reverse() in the project fail, so the
    flag is set on the compiled pattern instead.
    """

    @cached_property
    def regex(self):
        return re.compile(self._regex, re.IGNORECASE)


arm_path = partial(re_path, Pattern=IgnoreCaseRegexPattern)
