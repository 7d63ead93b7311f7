"""GET /api/openapi.json: the OpenAPI 3 description of every API route."""

from __future__ import annotations

from drf_spectacular.views import SpectacularJSONAPIView

from config.permissions import ApiPermission


class OpenApiView(SpectacularJSONAPIView):
    # A login: the description holds no data, but it is the map of the APIs,
    # and every other API route asks for one too.
    permission_classes = [ApiPermission]
    permissions_required = {"GET": ()}
