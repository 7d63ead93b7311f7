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

`bound_cursor()`: a cursor that binds its parameters on the server, for the
run path's written-out statements (config/statements.py) only. Django's cursors
bind on the client (psycopg's ClientCursor: every statement is sent as new
text, with its values quoted in), so PostgreSQL parses and plans each one again.
psycopg's own cursor sends the text and the values apart, and once a
connection has run a text 5 times (psycopg's `prepare_threshold`) prepares it:
each later run is a bind and an execute. Django turns psycopg's preparing off
(for connection poolers) unless the database's OPTIONS set `prepare_threshold`;
this backend sets 5 instead, which changes nothing else (Django's client-side
cursors never prepare). OPTIONS `{"prepare_threshold": None}` turns it off
(WEBJOBS_DB_PREPARE=false, config/settings.py).
Measured on this machine for the claim (an UPDATE ... RETURNING with a
subquery), per statement: PostgreSQL's CPU 103-127 -> 47-50 us, the client's
39-44 -> 26-31 us. The rest of Django keeps client-side binding (Django's
`server_side_binding` option would turn it on for every ORM query, which
Django's documentation warns some queries do not survive); these statements
are plain SELECT, INSERT, UPDATE and DELETE over columns, where it is the same.

The datetimes it reads: Django reads every timestamptz through its own loader
(a subclass of psycopg's pure-Python one, to set the zone), about 4 us each
here; Kudu's job list reads three a job (a thousand jobs: ~12 ms of a ~90 ms
request, py-spy). `IsoTzLoader` parses PostgreSQL's ISO text with
`datetime.fromisoformat` (0.3 us) and sets the zone as Django does; a text that
it does not take (infinity, BC, a DateStyle other than ISO) goes to Django's.
"""

from __future__ import annotations

import select
from datetime import datetime
from functools import lru_cache

from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import is_psycopg3

if is_psycopg3:
    import psycopg
    from django.db.backends.postgresql.psycopg_any import (
        BaseTzLoader,
        register_tzloader,
    )
    from psycopg.adapt import AdaptersMap
    from psycopg.pq import Format, TransactionStatus

    TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid

    class IsoTzLoader(BaseTzLoader):
        """Django's timestamptz loader, the ISO text parsed in C."""

        def load(self, data):
            try:
                value = datetime.fromisoformat(bytes(data).decode())
            except ValueError:
                return super().load(data)  # raises as Django's does, or reads it
            return value.replace(tzinfo=self.timezone)

    @lru_cache
    def with_iso_loader(template: AdaptersMap, timezone) -> AdaptersMap:
        """Django's adapters for a connection, timestamptz read by IsoTzLoader."""
        adapters = AdaptersMap(template)
        loader = type("IsoTzLoader", (IsoTzLoader,), {"timezone": timezone})
        adapters.register_loader("timestamptz", loader)
        return adapters


# Runs of one text on a connection before psycopg prepares it (its default).
PREPARE_THRESHOLD = 5


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        if is_psycopg3 and "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            params["prepare_threshold"] = PREPARE_THRESHOLD
        if is_psycopg3 and "context" in params:
            params["context"] = with_iso_loader(params["context"], self.timezone)
        return params

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

    def bound_cursor(self):
        """A cursor as `cursor()` gives, whose statements are bound on the
        server and prepared once they repeat (the module's docstring); Django's
        own cursor where the driver is not psycopg 3."""
        if not is_psycopg3:
            return self.cursor()
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            bound = psycopg.Cursor(self.connection)
            # The zone of the datetimes it reads, as Django's create_cursor sets it.
            loader = self.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, bound)
            return self._prepare_cursor(bound)
