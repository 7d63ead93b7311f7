"""Scheduler actions' credentials: sealed at rest, never returned, still sent,
and never handed to another origin by a redirect."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import connection

from scheduler.models import Job, JobHistory

pytestmark = pytest.mark.django_db(transaction=True)

ARM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Scheduler"
V = "?api-version=2016-03-01"
PASSWORD, KEY, TOKEN = "pw-hunter2", "fk-hunter2", "tk-hunter2"


@contextmanager
def server(redirect_to=None, *, tls=None) -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP(S) server recording each request's path and headers;
    with `redirect_to(base, path)`, it answers 302 there (None: 200)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen.append({"path": self.path, "headers": headers})
            target = redirect_to(base, self.path) if redirect_to else None
            self.send_response(302 if target else 200)
            if target:
                self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        scheme = "https"
    base = f"{scheme}://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def self_signed(tmp_path, monkeypatch) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that this process trusts (SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    return str(cert_path), str(key_path)


def put_job(api, name: str, uri: str, *, kind: str = "Http"):
    action = {
        "type": kind,
        "request": {
            "uri": uri,
            "method": "GET",
            "headers": {"x-functions-key": KEY, "X-Auth-Token": TOKEN, "X-Plain": "p"},
            "authentication": {"type": "Basic", "username": "u", "password": PASSWORD},
        },
        "retryPolicy": {"retryType": "None"},
    }
    body = {"properties": {"action": action, "state": "Disabled"}}
    response = api.client.put(
        f"{ARM}/jobCollections/jc/jobs/{name}{V}",
        data=json.dumps(body),
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 201, response.content
    return response


def run_job(api, name: str) -> JobHistory:
    response = api.post(f"{ARM}/jobCollections/jc/jobs/{name}/run{V}")
    assert response.status_code == 200
    return JobHistory.objects.get(job__name=name)  # the queue runs inline here


@pytest.fixture
def collection(api):
    response = api.client.put(
        f"{ARM}/jobCollections/jc{V}",
        data=json.dumps({"location": "west"}),
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 201


def test_it_stores_credentials_sealed_and_never_returns_them(api, collection):
    with server() as (target, seen):
        created = put_job(api, "ping", f"{target}/ping")
        with connection.cursor() as cursor:
            cursor.execute("SELECT action FROM scheduler_job WHERE name = %s", ["ping"])
            stored = str(cursor.fetchone()[0])
        for secret in (PASSWORD, KEY, TOKEN):
            assert secret not in stored  # the row itself, read directly
            assert secret not in created.content.decode()
            read = api.get(f"{ARM}/jobCollections/jc/jobs/ping{V}").content.decode()
            assert secret not in read
        headers = json.loads(read)["properties"]["action"]["request"]["headers"]
        assert headers == {"X-Plain": "p"}  # the credentials are left out
        entry = run_job(api, "ping")
    assert entry.status == "Completed", entry.message
    sent = seen[0]["headers"]
    assert sent["x-functions-key"] == KEY and sent["x-auth-token"] == TOKEN
    assert sent["authorization"].startswith("Basic ")  # u:pw-hunter2
    for secret in (PASSWORD, KEY, TOKEN):
        assert secret not in entry.message


def test_it_keeps_credentials_on_a_redirect_within_the_origin(api, collection):
    def same_origin(base, path):
        return f"{base}/final" if path == "/start" else None

    with server(same_origin) as (target, seen):
        put_job(api, "same", f"{target}/start")
        entry = run_job(api, "same")
    assert entry.status == "Completed", entry.message
    final = seen[1]
    assert final["path"] == "/final"
    assert final["headers"]["x-functions-key"] == KEY
    assert final["headers"]["authorization"].startswith("Basic ")


def test_it_drops_credentials_on_a_redirect_to_another_origin(api, collection):
    with server() as (elsewhere, landed):
        with server(lambda base, path: f"{elsewhere}/landed") as (target, _):
            put_job(api, "away", f"{target}/start")
            entry = run_job(api, "away")
    assert entry.status == "Completed", entry.message
    headers = set(landed[0]["headers"])
    assert "x-plain" in headers
    assert not headers & {"authorization", "x-functions-key", "x-auth-token"}


def test_it_refuses_a_redirect_from_https_to_http(
    api, collection, tmp_path, monkeypatch
):
    tls = self_signed(tmp_path, monkeypatch)
    with server() as (plain, landed):
        with server(lambda base, path: f"{plain}/landed", tls=tls) as (secure, seen):
            put_job(api, "down", f"{secure}/start", kind="Https")
            entry = run_job(api, "down")
    assert len(seen) == 1  # the https server was reached
    assert landed == []  # and nothing followed it to http
    assert entry.status == "Failed"
    assert "Refused to follow a redirect from https://" in entry.message
    assert Job.objects.get(name="down").failure_count == 1
