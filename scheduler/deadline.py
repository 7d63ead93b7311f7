"""A total deadline for one HTTP call of an Http action.

urllib's `timeout` bounds each socket operation, not the call: a server that
sends a byte every 50 s keeps a call alive for hours, past django-q2's own
timeout, which then kills the worker mid-call. Inside `http_deadline(seconds)`
the opener's connections get the time left as their timeout (connect
included), and a timer shuts down every socket they opened when the deadline
passes, which ends any read blocked on it at once. (Name resolution is not
covered: the system resolver's own timeouts bound it.)
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return max(self.end - time.monotonic(), 0.001)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def opener(self, *handlers) -> urllib.request.OpenerDirector:
        """urllib's opener, its http/https connections bound to this deadline
        (`handlers`: more, as build_opener takes them)."""
        return urllib.request.build_opener(
            _Handler(self), _SecureHandler(self), *handlers
        )


@contextmanager
def http_deadline(seconds: float) -> Iterator[Deadline]:
    deadline = Deadline(seconds)
    timer = threading.Timer(seconds, deadline.expire)
    timer.daemon = True
    timer.start()
    try:
        yield deadline
    finally:
        timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


def _bound(connection_class):
    class Bound(connection_class):
        def __init__(self, *args, deadline: Deadline, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.deadline = deadline

        def connect(self) -> None:
            self.timeout = min(self.timeout or self.deadline.seconds, self.remaining)
            super().connect()
            self.deadline.watch(self.sock)

        @property
        def remaining(self) -> float:
            return self.deadline.remaining()

    return Bound


_Connection = _bound(http.client.HTTPConnection)
_SecureConnection = _bound(http.client.HTTPSConnection)


class _Handler(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(_Connection, req, deadline=self.deadline)


class _SecureHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(
            _SecureConnection, req, context=self._context, deadline=self.deadline
        )
