"""GET/PUT /api/emulator/clock: read and move the emulator's time."""

from __future__ import annotations

import json

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from config.clock import ClockError, clock_now, clock_offset, clock_set
from core.kudu import iso_utc

ERR_BODY = 'The body must be a JSON object like {"now": "2030-01-31T23:59:00Z"}.'


def clock_json() -> dict:
    return {"now": iso_utc(clock_now()), "offset_seconds": round(clock_offset(), 6)}


class ClockView(APIView):
    # Reading the time needs a login; moving it changes what fires for everyone.
    permissions_required = {"GET": (), "PUT": ("config.move_emulatorclock",)}

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.PermissionDenied):
            return Response(
                {"error": {"code": "AuthorizationFailed", "message": str(exc.detail)}},
                status=403,
            )
        return super().handle_exception(exc)

    def get(self, request):
        return Response(clock_json())

    def put(self, request):
        try:
            data = json.loads(request._request.body or b"null")
        except (ValueError, RecursionError):  # bad JSON, 5,000-digit numbers, nesting
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("now"), str):
            return Response(
                {"error": {"code": "BadRequest", "message": ERR_BODY}}, status=400
            )
        try:
            clock_set(data["now"])
        except ClockError as exc:
            return Response(
                {"error": {"code": exc.code, "message": str(exc)}}, status=exc.status
            )
        return Response(clock_json())
