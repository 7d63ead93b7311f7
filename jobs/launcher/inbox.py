"""How a fire reaches this instance's launcher: a datagram carrying an id on a
socket of Linux's abstract namespace, one per shard, instance, database and
WEBJOBS_ROOT."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

from django.conf import settings
from django.db import connection

HAND_OVER_TIMEOUT = 1.0


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


def hand_over(attempt_pk: int) -> bool:
    """Give a WebJob fire (a Queued attempt) to this instance's launcher. False
    when none listens (at once), or it did not take the fire within
    HAND_OVER_TIMEOUT: the caller forks a monitor instead. The inbox holds only
    net.unix.max_dgram_qlen datagrams (10 by default), so a burst waits for the
    launcher to read. A datagram is never half-delivered; one accepted but never
    read (the launcher was killed) leaves the attempt Queued, for the outbox."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            # Connected, so that waiting for room sleeps: an unconnected
            # sender's poll says "writable" while the launcher's inbox is full,
            # and the timed send spun (measured: 118% CPU for 2 queue workers).
            sock.connect(address(attempt_pk % settings.WEBJOBS_LAUNCHERS))
            sock.settimeout(HAND_OVER_TIMEOUT)
            sock.send(str(attempt_pk).encode())
        return True
    except OSError:
        return False
