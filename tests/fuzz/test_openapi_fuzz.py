"""schemathesis against a live instance, from its own /api/openapi.json.

Every operation of the description (Kudu, ARM Scheduler, ARM Microsoft.Web, the
emulator's API) is called with generated requests, valid and invalid, then the
stateful phase follows the description's links (create -> get -> run ->
history -> delete). A user of any of these APIs must never see a server error,
nor an answer other than the description says (status, content type, body).

The instance is gunicorn on its own PostgreSQL database (the column limits
the fuzzer runs into are PostgreSQL's), with the queue's tasks inline
(Q_SYNC), so a run requested here starts its process (as WEBJOBS_RUN_AS, in
`scratch`). FUZZ_EXAMPLES and FUZZ_SECONDS make it longer (`make fuzz`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.instance import (
    Processes,
    ensure_admin,
    free_port,
    instance_env,
    postgres_database,
    processes,  # noqa: F401
    require_services,
)

pytestmark = pytest.mark.services

USER, PASSWORD = "fuzzer", "fuzz-admin-pass"
# CI's run: about 4,500 requests in about 90 seconds on a 2-core machine.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "60"))
MIN_REQUESTS = int(os.environ.get("FUZZ_MIN_REQUESTS", "2000"))
SEED = os.environ.get("FUZZ_SEED", "16008")
WAIT_SECONDS = 2 * SECONDS + 300  # a guard against hanging, not on speed
CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "missing_required_header",
        "unsupported_method",
        "use_after_free",
        "ensure_resource_availability",
    )
)
# Not run: negative_data_rejection and positive_data_acceptance judge by the
# description's types, but the views are deliberately looser (Kudu takes any
# string where ARM's spec has an enum, ARM names are checked by the services,
# not the description) and answer 400 with the field named; ignored_auth and
# object_level_authorization are tests/security's (one login here, no tenants).

# The runs: every operation in every phase; then the ARM Scheduler's chains
# alone, in one collection (tests/fuzz/st_hooks.py). Its chains start at a
# PUT (collection -> job -> get -> run -> history -> delete), which
# schemathesis starts from only where no POST or list without path parameters
# offers to (the Kudu routes do).
RUNS = {
    "all": (["--max-examples", str(EXAMPLES), "--max-time", str(SECONDS)], {}),
    "scheduler": (
        [
            "--phases",
            "stateful",
            "--include-path-regex",
            r"/Microsoft\.Scheduler/",
            "--max-time",
            str(max(SECONDS // 3, 10)),
        ],
        {"FUZZ_COLLECTION": "fuzz-sub/fuzz-rg/fuzz"},
    ),
}


def test_it_answers_every_generated_request_as_described(
    processes: Processes,  # noqa: F811
    scratch: Path,
    tmp_path: Path,
) -> None:
    require_services()
    with postgres_database() as database_url:
        env = instance_env(
            DATABASE_URL=database_url,
            WEBJOBS_ROOT=str(scratch / "root"),
            Q_SYNC="1",
            # Calls out (bounded to a closed port by tests/fuzz/st_hooks.py)
            # give up quickly.
            SCHEDULER_HTTP_TIMEOUT="2",
            WEBJOBS_HOOK_TIMEOUT="2",
        )
        try:
            ensure_admin(env, USER, PASSWORD)
            port = free_port()
            processes.gunicorn(env, port, log=tmp_path / "gunicorn.log")
            codes = {
                name: _fuzz(processes, {**env, **own}, port, tmp_path / name, argv)
                for name, (argv, own) in RUNS.items()
            }
        finally:
            processes.stop()  # before the database is dropped
    for name, code in codes.items():
        output = (tmp_path / name / "schemathesis.log").read_text(errors="replace")
        assert code == 0, f"{name}:\n{output[-20_000:]}" + _server_log(tmp_path)
    requests_made = sum(_requests(tmp_path / name / "fuzz.har") for name in RUNS)
    print(f"schemathesis made {requests_made} requests")
    assert requests_made >= MIN_REQUESTS


def _fuzz(
    processes: Processes,  # noqa: F811
    env: dict[str, str],
    port: int,
    folder: Path,
    extra: list[str],
) -> int:
    folder.mkdir()
    st = str(Path(sys.executable).with_name("st"))
    argv = [
        st,
        "--config-file",
        str(CONFIG),
        "run",
        f"http://127.0.0.1:{port}/api/openapi.json",
        "--auth",
        f"{USER}:{PASSWORD}",
        "--checks",
        CHECKS,
        "--seed",
        SEED,
        # One worker: with two, hypothesis's lambda descriptions (an ast walk,
        # not thread-safe) failed a run of schemathesis 4.32.5 itself.
        "--workers",
        "1",
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--report",
        "har",
        "--report-har-path",
        str(folder / "fuzz.har"),
        "--no-color",
        *extra,
    ]
    fuzz = processes.start(
        argv,
        {**env, "SCHEMATHESIS_HOOKS": "tests.fuzz.st_hooks"},
        log=folder / "schemathesis.log",
    )
    return fuzz.wait(timeout=WAIT_SECONDS)


def _requests(har: Path) -> int:
    return len(json.loads(har.read_text())["log"]["entries"])


def _server_log(tmp_path: Path) -> str:
    log = tmp_path / "gunicorn.log"
    return "\n--- gunicorn.log ---\n" + log.read_text(errors="replace")[-10_000:]
