"""Fixtures for black-box tests of WebJobs through ARM (Microsoft.Web) and the
Kudu routes added with it (zip deployment, hooks, ARM mode).

The tests talk HTTP to pytest-django's live server, through the unmodified
azure-mgmt-web 11.0.1 SDK (``web``) or plain requests (``kudu``), as a user of
the emulator would. Runs are real processes (the queue runs inline in tests,
its task forks the run monitor); continuous jobs need a real host
(``start_host``, tests/continuous/conftest.py).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from azure.mgmt.web import WebSiteManagementClient
from django.conf import settings as django_settings

from tests.continuous.conftest import (
    start_host,  # noqa: F401 (a fixture)
    wait_for,
)
from tests.scheduler_api.conftest import (  # noqa: F401 (fixtures)
    BearerPolicy,
    _fresh_clock_cache,
    clock,
    target,
)

SUB = "5c1e0d7a-0000-4000-8000-00000000beef"
RG = "site-rg"
USERNAME, PASSWORD = "deployer", "s3cret-pass"  # tests/conftest.py's `user`
FINAL = ("Success", "Failed", "Aborted")


def site() -> str:
    return django_settings.WEBSITE_SITE_NAME


def site_path(*, name: str | None = None, rg: str = RG) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Web/sites/"
        f"{name or site()}"
    )


def make_web(base_url: str, bearer: str, **kwargs) -> WebSiteManagementClient:
    return WebSiteManagementClient(
        credential=object(),
        subscription_id=SUB,
        base_url=base_url,
        authentication_policy=BearerPolicy(bearer),
        retry_total=0,  # a product 5xx must fail the test now
        read_timeout=30,
        **kwargs,
    )


@pytest.fixture
def token(user) -> str:
    from jobs.tokens import token_create

    return token_create(user=user, name="web-sdk")[0]


@pytest.fixture
def web(live_server, token) -> Iterator[WebSiteManagementClient]:
    client = make_web(live_server.url, token)
    yield client
    client.close()


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            zf.writestr(info, data)
    return buf.getvalue()


@dataclass
class Kudu:
    """Kudu's routes over HTTP, as the test user (HTTP Basic) by default."""

    base: str
    auth: Any = (USERNAME, PASSWORD)

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("auth", self.auth)
        kwargs.setdefault("timeout", 30)
        url = path if path.startswith("http") else self.base + path
        return requests.request(method, url, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def deploy(self, kind: str, name: str, script: str, filename: str = "run.sh"):
        response = self.call(
            "PUT",
            f"/api/{kind}webjobs/{name}",
            data=script.encode(),
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def zipdeploy(self, package: bytes, **kwargs) -> requests.Response:
        return self.call("POST", "/api/zipdeploy", data=package, **kwargs)

    def run_and_wait(self, name: str) -> dict:
        response = self.call("POST", f"/api/triggeredwebjobs/{name}/run")
        assert response.status_code == 202, response.text
        return self.wait_run(response.headers["Location"])

    def wait_run(self, location: str) -> dict:
        path = location.replace(self.base, "")

        def final():
            body = self.get(path).json()
            return body if body["status"] in FINAL else None

        return wait_for(final, f"the run at {path} to end")


@pytest.fixture
def kudu(live_server, user) -> Kudu:
    return Kudu(live_server.url)
