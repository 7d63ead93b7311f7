"""Django's PostgreSQL backend, with a health check that asks the server only
when the server has said something.

CONN_HEALTH_CHECKS (config/settings.py) keeps a request from failing on a
connection the server closed since the last one (PostgreSQL restarted, a
backend terminated): Django's check is a `SELECT 1` before the first query of
every request and every queue task, the statement sent most often of all,
about three per on-demand run (issue 18: PostgreSQL's statement log during
bench/run_trigger.py). A connection idle between two requests has nothing to
read; when the server ends it, it sends its reason (FATAL 57P01 at a
shutdown) and closes the socket, which then is readable. So the check here
polls the socket without waiting, and only when something came does it ask
Django's check, which then fails and the connection is opened again, as
before. A connection inside a transaction, or not a psycopg 3 one, gets
Django's check unchanged.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3

if is_psycopg3:
    from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if not is_psycopg3 or conn is None:
            return super().is_usable()
        if conn.closed or conn.broken:
            return False
        if conn.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        poller = select.poll()
        try:
            poller.register(conn.fileno(), select.POLLIN)
            said = poller.poll(0)
        except (OSError, ValueError):
            return False
        return not said or super().is_usable()
