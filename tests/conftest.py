from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from tests.helpers import Api
from tests.instance import processes  # noqa: F401  (a fixture for every test)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Django's real hasher costs ~0.2 s per user created; tests need no such cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_site():
    yield
    _wait_for_children()
    for sub in ("site", "data", "temp"):
        shutil.rmtree(django_settings.WEBJOBS_ROOT / sub, ignore_errors=True)


@pytest.fixture
def scratch():
    """A folder a job may write to: jobs run as WEBJOBS_RUN_AS (nobody, when the
    tests run as root), who cannot enter pytest's own tmp_path (0700)."""
    path = Path(tempfile.mkdtemp(prefix="webjobs-scratch-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def user(db, django_user_model):
    return django_user_model.objects.create_user(
        "deployer", password="s3cret-pass", is_staff=True, is_superuser=True
    )


@pytest.fixture
def api(user, client) -> Api:
    token = base64.b64encode(b"deployer:s3cret-pass").decode()
    return Api(
        client,
        {
            "HTTP_AUTHORIZATION": f"Basic {token}",
            "HTTP_USER_AGENT": "pytest-client/1.0",
        },
    )


def _wait_for_children(timeout: float = 10.0) -> None:
    """Run monitors finish their bookkeeping just after a run ends; let them."""
    import time

    from jobs.processes import alive, descendants, reap
    from tests.instance import SESSION_PROCESSES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reap()
        kept = {*SESSION_PROCESSES}
        for pid in SESSION_PROCESSES:
            kept.update(descendants(pid))
        if not [p for p in descendants(os.getpid()) if alive(p) and p not in kept]:
            return
        time.sleep(0.05)


def pytest_sessionfinish(session, exitstatus):
    from jobs.processes import alive, descendants, end_tree

    leftovers = [p for p in descendants(os.getpid()) if alive(p)]
    end_tree(os.getpid(), grace=5, include_root=False)
    shutil.rmtree(os.environ["WEBJOBS_ROOT"], ignore_errors=True)
    if leftovers:
        print(f"\nwarning: ended {len(leftovers)} process(es) left behind by tests")
