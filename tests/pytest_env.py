"""Loaded with `-p tests.pytest_env`, before pytest-django reads the settings.

Every test session gets its own WEBJOBS_ROOT (packages, logs, the SQLite test
database), so tests never touch a developer's var/ and child processes (run
monitors, a real qcluster) find the same files through the environment.
"""

import os
import tempfile

_root = tempfile.mkdtemp(prefix="webjobs-test-")
os.environ["WEBJOBS_ROOT"] = _root
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.pop("DATABASE_URL", None)
# The in-process tests use SQLite; WEBJOBS_TEST_DATABASE_URL runs them on
# another database (tests/jobs/test_statements_postgresql.py runs the
# written-out statements' tests on PostgreSQL this way).
if os.environ.get("WEBJOBS_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["WEBJOBS_TEST_DATABASE_URL"]
os.environ.pop("REDIS_URL", None)
# The queue's tasks run inline in tests (through django-q2's async_task); the
# tests that prove the real cluster start `manage.py qcluster` themselves.
os.environ["Q_SYNC"] = "1"
os.environ["WEBSITE_INSTANCE_ID"] = "testinstance0"

# Orphaned run monitors (their queue worker gone) reparent to the test process,
# and tests/conftest.py ends whatever is left at the end of the session.
from jobs.processes import become_subreaper  # noqa: E402

become_subreaper()
