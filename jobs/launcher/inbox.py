"""How work reaches this instance's launcher: a datagram on a socket of Linux's
abstract namespace, one per shard, instance, database and WEBJOBS_ROOT. Three
kinds: a scheduled fire's attempt id (`hand_over`); an on-demand run's id with
RUN_MARK in front (`run_hand_over`: claim it and make it ready), then with
GO_MARK (`run_go`: its answer is sent, start it)."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from django.conf import settings
from django.db import connection

HAND_OVER_TIMEOUT = 1.0
RUN_MARK = b"r"
GO_MARK = b"g"
# An on-demand run is in the queue already: a launcher too busy to take it at
# once leaves it to the queue rather than hold the request (and its client).
RUN_HAND_OVER_TIMEOUT = 0.05
# The go of a run the launcher holds: worth a little wait (the answer is sent
# already); without it the launcher starts the run after its GO_TIMEOUT.
GO_TIMEOUT = 0.25


def address(shard: int) -> bytes:
    """A launcher's socket: Linux's abstract namespace (no file to go stale, no
    path length limit), one per shard, instance, database and WEBJOBS_ROOT."""
    db = connection.settings_dict
    key = "|".join(
        (
            str(shard),
            settings.WEBSITE_INSTANCE_ID,
            str(Path(settings.WEBJOBS_ROOT).resolve()),
            db["ENGINE"],
            str(db.get("HOST") or ""),
            str(db.get("PORT") or ""),
            str(db["NAME"]),
        )
    )
    return b"\0webjobs-launcher-" + hashlib.sha1(key.encode()).hexdigest()[:20].encode()


def _send(shard_key: int, data: bytes, timeout: float) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            # Connected, so that waiting for room sleeps: an unconnected
            # sender's poll says "writable" while the launcher's inbox is full,
            # and the timed send spun (measured: 118% CPU for 2 queue workers).
            sock.connect(address(shard_key % settings.WEBJOBS_LAUNCHERS))
            sock.settimeout(timeout)
            sock.send(data)
        return True
    except OSError:
        return False


def run_hand_over(run_pk: int, *, job_pk: int) -> bool:
    """Give an on-demand run (inserted, Initializing) to this instance's
    launcher, the one its job picks (a job's runs all go to one launcher,
    which may hold a process ready for its next run): if it claims the run
    before the queue task does, it makes it ready (working copy, process held
    at its gate) and starts it on its go (`run_go`). False when no launcher
    listens or its inbox stayed full: the queue task starts the run, as it
    does when the datagram is lost."""
    return _send(job_pk, RUN_MARK + str(run_pk).encode(), RUN_HAND_OVER_TIMEOUT)


def run_go(run_pk: int, *, job_pk: int) -> bool:
    """Start a run handed over (its request is answered)."""
    return _send(job_pk, GO_MARK + str(run_pk).encode(), GO_TIMEOUT)


def hand_over(attempt_pk: int) -> bool:
    """Give a WebJob fire (a Queued attempt) to this instance's launcher. False
    when none listens (at once), or it did not take the fire within
    HAND_OVER_TIMEOUT: the caller forks a monitor instead. The inbox holds only
    net.unix.max_dgram_qlen datagrams (10 by default), so a burst waits for the
    launcher to read. A datagram is never half-delivered; one accepted but never
    read (the launcher was killed) leaves the attempt Queued, for the outbox."""
    return _send(attempt_pk, str(attempt_pk).encode(), HAND_OVER_TIMEOUT)
