"""schemathesis hooks of the fuzz run (SCHEMATHESIS_HOOKS=tests.fuzz.st_hooks).

The fuzzer may generate anything the description allows; these bound the few
values that make the emulator start a process or call out, so a fuzz run stays
on this machine and every process it causes ends with its instance:
- a deployed file is a short script, since a run executes it (random bytes
  never unpack as a zip: the zip checks have their own tests);
- an Http action's URL, and a web hook's http(s) URL, point at a closed local
  port, since a run-now or a finished run calls them.

With FUZZ_COLLECTION=sub/rg/name (the ARM Scheduler's chains), every ARM
Scheduler path names that one collection, so a chain that starts at a job's
PUT finds the collection an earlier one made rather than a 404.
"""

from __future__ import annotations

import os
import uuid

import schemathesis

SCRIPT = b"echo fuzzed\n"
CLOSED = "http://127.0.0.1:9/fuzz"


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if case.method == "PUT" and "Content-Disposition" in (case.headers or {}):
        case.body = SCRIPT
    body = case.body
    if isinstance(body, dict):
        url = body.get("url")
        if case.path.rstrip("/").endswith("hooks") and _deliverable(url):
            # One address per subscription: the same address again answers the
            # existing hook (Kudu's rule, tests/web_api/test_hooks.py), which two
            # chains sharing it would read as a hook deleted under the other.
            body["url"] = f"{CLOSED}/{uuid.uuid4().hex}"
        properties = body.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get("action"), dict):
            _bound_action(properties["action"])


@schemathesis.hook
def map_path_parameters(context, path_parameters: dict) -> dict:
    pinned = os.environ.get("FUZZ_COLLECTION")
    if pinned and "jc" in path_parameters:
        sub, rg, jc = pinned.split("/")
        return {**path_parameters, "sub": sub, "rg": rg, "jc": jc}
    return path_parameters


def _deliverable(url: object) -> bool:
    """A URL a hook would be posted to (the refused ones are left to test)."""
    return (
        isinstance(url, str)
        and url.lower().startswith(("http://", "https://"))
        and url.isprintable()
        and len(url) <= 2000
    )


def _bound_action(action: dict) -> None:
    for part in (action, action.get("errorAction")):
        if isinstance(part, dict) and isinstance(part.get("request"), dict):
            if isinstance(part["request"].get("uri"), str):
                scheme = "https" if part.get("type") == "Https" else "http"
                part["request"]["uri"] = CLOSED.replace("http", scheme, 1)
