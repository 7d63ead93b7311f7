"""The run path's written-out statements on PostgreSQL, where they are bound on
the server and prepared once they repeat (config/postgresql/base.py): they
still read and write what the ORM does, and a repeated one is prepared.

The in-process tests run on SQLite; this runs the statements' own tests again
in a pytest of their own on a PostgreSQL database (WEBJOBS_TEST_DATABASE_URL,
tests/pytest_env.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.db import DataError
from django.db.utils import ConnectionHandler
from psycopg.pq import Format

from config.postgresql.base import TIMESTAMPTZ_OID
from tests.instance import BASE_DIR, PG_ADMIN_URL, instance_env, require_services

# The tests that force the path without RETURNING are left out: PostgreSQL has
# RETURNING, and Django's own insert cannot run there without it.
MODULES = ("tests/jobs/test_statements.py", "tests/jobs/test_history.py")


def test_the_written_out_statements_read_what_the_orm_reads_on_postgresql():
    require_services()
    name = f"stmt{uuid.uuid4().hex[:10]}"
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--reuse-db",  # kept, to be found below, then dropped
                "-k",
                "not no-RETURNING",
                *MODULES,
            ],
            cwd=BASE_DIR,
            env=instance_env(WEBJOBS_TEST_DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        ran_there = _drop(f"test_{name}")
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert ran_there, "the tests did not run on PostgreSQL"
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 10, summary
    assert "skipped" not in summary and "deselected" in summary, summary


@pytest.mark.parametrize("prepare", ["", "false"])
def test_a_statement_run_again_is_prepared_unless_turned_off(
    prepare, django_db_blocker
):
    require_services()
    settings = _settings(DATABASE_URL=PG_ADMIN_URL, WEBJOBS_DB_PREPARE=prepare)
    assert settings["CONN_HEALTH_CHECKS"] is True  # either way
    handler = ConnectionHandler({"default": settings})
    db = handler["default"]
    query = "SELECT count(*) FROM pg_class WHERE relpages > %s"
    with django_db_blocker.unblock():  # its own connection, not the test database
        try:
            for _ in range(6):  # psycopg prepares a text on its 5th run
                with db.bound_cursor() as cursor:
                    cursor.execute(query, [3])
                    assert cursor.fetchone()[0] >= 0
            with db.cursor() as cursor:
                cursor.execute("SELECT statement FROM pg_prepared_statements")
                prepared = [row[0] for row in cursor.fetchall()]
        finally:
            handler.close_all()
    assert prepared == ([] if prepare == "false" else [query.replace("%s", "$1")])


def _settings(**env: str) -> dict:
    """DATABASES["default"] as config/settings.py makes it from `env`."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings;"
            "print(json.dumps(settings.DATABASES['default']))",
        ],
        cwd=BASE_DIR,
        env=instance_env(**env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def _drop(database: str) -> bool:
    """Drop `database` if it is there; whether it was."""
    with psycopg.connect(
        "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True
    ) as admin:
        found = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if found:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    return found is not None


TIMESTAMPS = (
    "2026-12-06 17:00:00+00",
    "2026-12-06 17:00:00.123456+00",
    "2026-12-06 17:00:00.5+00",
    "2026-06-01 12:00:00.000001+02",
    "1901-12-13 20:45:52-01:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
)


@pytest.mark.parametrize("use_tz", [True, False])
def test_datetimes_are_read_as_djangos_backend_reads_them(
    use_tz, django_db_blocker, settings
):
    require_services()
    settings.USE_TZ = use_tz
    ours = _settings(DATABASE_URL=PG_ADMIN_URL)
    handler = ConnectionHandler(
        {"default": ours, "django": {**ours, "ENGINE": "django.db.backends.postgresql"}}
    )
    values = ", ".join(f"('{text}'::timestamptz)" for text in TIMESTAMPS)
    read = {}
    with django_db_blocker.unblock():
        try:
            for alias in ("default", "django"):
                with handler[alias].cursor() as cursor:
                    cursor.execute(f"SELECT v FROM (VALUES {values}, (NULL)) AS t(v)")
                    read[alias] = [row[0] for row in cursor.fetchall()]
                    with pytest.raises(DataError, match="too large"):
                        cursor.execute("SELECT 'infinity'::timestamptz")
                        cursor.fetchall()
            loader = handler["default"].connection.adapters.get_loader(
                TIMESTAMPTZ_OID, Format.TEXT
            )
        finally:
            handler.close_all()
    assert loader.__name__ == "IsoTzLoader"  # the one measured, not Django's
    assert read["default"] == read["django"]
    assert [v and v.tzinfo for v in read["default"]] == [
        v and v.tzinfo for v in read["django"]
    ]
    assert read["default"][1].microsecond == 123456 and read["default"][-1] is None
