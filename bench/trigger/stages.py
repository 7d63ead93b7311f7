"""When each write of a run's row happened, recorded by the database itself.

A trigger on history_run, installed by the benchmark for the runs one at a time
(and removed before the burst), appends (job, run id, status, monitor, time) to
a table of its own at every insert and update: the run row inserted, the run
claimed by whoever starts it (monitor_pid set), Running recorded, the end. The
code measured is not changed, so main's code and this one are measured alike.
Times are the server's clock (PostgreSQL's clock_timestamp(); SQLite's
julianday('now'), to the millisecond), the machine's own clock.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg

from bench.harness.instance import Instance

PG_INSTALL = """
CREATE TABLE bench_audit (job integer, run text, status text, monitor integer,
                          at double precision);
CREATE FUNCTION bench_audit() RETURNS trigger AS $$
BEGIN
  INSERT INTO bench_audit VALUES (NEW.job_id, NEW.run_id, NEW.status,
    NEW.monitor_pid, extract(epoch FROM clock_timestamp()));
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER bench_audit AFTER INSERT OR UPDATE ON history_run
  FOR EACH ROW EXECUTE FUNCTION bench_audit();
"""
PG_REMOVE = """
DROP TRIGGER IF EXISTS bench_audit ON history_run;
DROP FUNCTION IF EXISTS bench_audit();
"""
SQLITE_ROW = (
    "INSERT INTO bench_audit VALUES (NEW.job_id, NEW.run_id, NEW.status, "
    "NEW.monitor_pid, (julianday('now') - 2440587.5) * 86400.0);"
)
SQLITE_INSTALL = f"""
CREATE TABLE bench_audit (job integer, run text, status text, monitor integer,
                          at real);
CREATE TRIGGER bench_audit_i AFTER INSERT ON history_run BEGIN {SQLITE_ROW} END;
CREATE TRIGGER bench_audit_u AFTER UPDATE ON history_run BEGIN {SQLITE_ROW} END;
"""
SQLITE_REMOVE = """
DROP TRIGGER IF EXISTS bench_audit_i;
DROP TRIGGER IF EXISTS bench_audit_u;
"""
READ = (
    "SELECT w.name, a.run, a.status, a.monitor, a.at FROM bench_audit a "
    "JOIN jobs_webjob w ON w.id = a.job ORDER BY a.at"
)


def _run(inst: Instance, sql: str, *, read: bool = False) -> list[tuple]:
    if inst.key == "A":
        with closing(sqlite3.connect(inst.root / "db.sqlite3", timeout=30)) as db:
            if read:
                return db.execute(sql).fetchall()
            db.executescript(sql)
            db.commit()
            return []
    with psycopg.connect(inst.env["DATABASE_URL"], autocommit=True) as db:
        cursor = db.execute(sql)
        return cursor.fetchall() if read else []


def install(inst: Instance) -> None:
    _run(inst, SQLITE_INSTALL if inst.key == "A" else PG_INSTALL)


def remove(inst: Instance) -> None:
    _run(inst, SQLITE_REMOVE if inst.key == "A" else PG_REMOVE)


def writes(inst: Instance) -> dict[tuple[str, str], dict[str, float]]:
    """Per (job, run id): when the row was inserted, claimed, recorded Running
    and ended (the first write of each), epoch seconds; and "monitor", the
    claim's monitor_pid (0: a queue worker's run monitor; else a process that
    started it itself, the launcher)."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for name, run_id, status, monitor, at in _run(inst, READ, read=True):
        seen = out.setdefault((name, run_id), {})
        seen.setdefault("inserted", at)
        if monitor is not None and "claimed" not in seen:
            seen["claimed"], seen["monitor"] = at, monitor
        if status == "Running":
            seen.setdefault("running", at)
        if status in ("Success", "Failed", "Aborted"):
            seen.setdefault("ended", at)
    return out
