"""drf-spectacular's postprocessing hook: the hand-written operations
(`operations.py`) and shapes (`components.py`) merged into the routes it found.

Every route drf-spectacular finds must have its operation written: a route
added without one fails the schema's generation (and so its test), rather
than being served undescribed.
"""

from __future__ import annotations

import re

from emulator.openapi.components import SCHEMAS
from emulator.openapi.operations import OPERATIONS, path_parameters

ERR_UNDESCRIBED = (
    "No operation described for {method} {path} ({view}): "
    "add it to emulator/openapi/operations.py."
)
SECURITY_SCHEMES = {
    # Kudu's deployment credentials: a Django user (jobs/auth.py).
    "basicAuth": {"type": "http", "scheme": "basic"},
    # manage.py apitoken create USER (jobs/tokens.py), as the Azure SDKs send it.
    "bearerAuth": {"type": "http", "scheme": "bearer"},
}


def describe(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: replace each operation by its description."""
    paths: dict[str, dict] = {}
    for path, _regex, method, callback in generator.endpoints:
        view = callback.cls
        described = OPERATIONS.get(view, {}).get(method.lower())
        if described is None:
            raise LookupError(
                ERR_UNDESCRIBED.format(method=method, path=path, view=view.__name__)
            )
        path = path if path.startswith("/") else "/" + path
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, described)
    for path, operations in paths.items():
        for operation in operations.values():
            _resolve_links(path, operation, paths)
    result["paths"] = paths
    components = result.setdefault("components", {})
    components["schemas"] = SCHEMAS
    components["securitySchemes"] = SECURITY_SCHEMES
    result["security"] = [{"basicAuth": []}, {"bearerAuth": []}]
    return result


def operation_id(path: str, method: str) -> str:
    """`put_api_triggeredwebjobs_name`: unique across the aliases."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")
    return f"{method.lower()}_{words}"


def _operation(path: str, method: str, described: dict) -> dict:
    operation = {key: value for key, value in described.items() if key != "parameters"}
    operation["operationId"] = operation_id(path, method)
    operation["tags"] = [_family(path)]
    schemas = path_parameters()
    operation["parameters"] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": schemas.get(name, {"type": "string"}),
        }
        for name in re.findall(r"{(\w+)}", path)
    ] + list(described.get("parameters", ()))
    # Responses are copied: links are resolved per path (aliases share entries).
    operation["responses"] = {
        status: dict(response) for status, response in described["responses"].items()
    }
    return operation


def _family(path: str) -> str:
    if "/Microsoft.Scheduler/" in path:
        return "Scheduler (ARM)"
    if "/Microsoft.Web/" in path:
        return "WebJobs (ARM)"
    if path.startswith("/subscriptions/"):
        return "ARM"
    if path.startswith("/api/emulator/"):
        return "Emulator"
    return "Kudu"


def _resolve_links(path: str, operation: dict, paths: dict) -> None:
    """``links`` of (target, method, parameters) as OpenAPI links to the
    operation ids of this path's neighbours (module docstring of operations)."""
    for response in operation["responses"].values():
        links = response.pop("links", None)
        if not links:
            continue
        resolved = {}
        for name, (target, method, parameters) in links.items():
            if target.startswith("^"):
                target_path = path.rsplit("/", 1)[0] + target[1:]
            else:
                target_path = path + target.lstrip("+")
            if method in paths.get(target_path, {}):
                resolved[name] = {
                    "operationId": operation_id(target_path, method),
                    "parameters": dict(parameters),
                }
        if resolved:
            response["links"] = resolved
