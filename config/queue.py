"""django-q2's broker, one per process.

django-q2 builds a new broker for each `async_task` unless it is given one, and
its Redis broker opens a connection each time (measured: 3.9 ms a send, a fifth
of a POST .../run's CPU on PostgreSQL + Redis). The broker is keyed by process
id, so a forked child (a run monitor, a queue worker) makes its own rather than
share its parent's connection.
"""

from __future__ import annotations

import os

from django_q.brokers import Broker, get_broker

_brokers: dict[int, Broker] = {}


def queue_broker() -> Broker:
    pid = os.getpid()
    if pid not in _brokers:
        _brokers.clear()
        _brokers[pid] = get_broker()
    return _brokers[pid]
