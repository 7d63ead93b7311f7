from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config.clock import clock_set
from scheduler.services import collection_put
from tests.helpers import later


class Target:
    """A local HTTP endpoint for Http actions; answers `status` and counts calls."""

    def __init__(self) -> None:
        self.status = 200
        self.calls: list[tuple[str, str, dict]] = []
        target = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                target.calls.append((self.command, body, dict(self.headers)))
                self.send_response(target.status)
                self.end_headers()
                self.wfile.write(f"answer {target.status}".encode())

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target():
    t = Target()
    yield t
    t.close()


def new_collection(sku: str = "Standard"):
    """The collection "jc" on plan `sku`, at whatever time the clock says."""
    c, _ = collection_put(
        subscription_id="sub",
        resource_group="rg",
        name="jc",
        body={"properties": {"sku": {"name": sku}}},
    )
    return c


@pytest.fixture
def collection(db):
    clock_set(later("2031-01-30T12:00:00Z"))
    return new_collection()
