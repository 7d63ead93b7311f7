"""One host per instance, and what a crashed host of it left running.

Each continuous job leads its own process group, whose id is stored in its
status row, and carries Kudu's marker variable: a host starting after a crash
ends what is left of those groups, checking each process's environment so a
reused pid is never hit.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from datetime import timedelta
from pathlib import Path

from django.db.models.functions import Now

from jobs.environment import emulator_id
from jobs.models import Instance, InstanceStatus, WebJob
from jobs.processes import (
    alive,
    cmdline,
    environ_has,
    environ_search,
    group_members,
    signal_quietly,
)

log = logging.getLogger("jobs.host")

MARKER = "WEBSITE_ALWAYS_ON_JOB_RUNNING_"
ERR_HOST_RUNNING = (
    "Another host is already running for instance {instance} ({where}); one "
    "instance has one host. Stop it first, or give this one another "
    "WEBSITE_INSTANCE_ID."
)


class HostConflict(RuntimeError):
    """Another live host serves this instance id."""


def host_check_alone(*, instance_id: str, lease_time: float) -> None:
    """A second host for one instance would start a second copy of each job.

    A fresh heartbeat from another machine, or a live `runhost` process with
    the recorded pid on this machine, means another host is up. A recorded
    pid that is dead (kill -9) or now belongs to something else is not.
    """
    row = (
        Instance.objects.filter(
            instance_id=instance_id,
            heartbeat_at__gte=Now() - timedelta(seconds=lease_time),
        )
        .values("hostname", "pid")
        .first()
    )
    if row is None or row["pid"] == os.getpid():
        return
    if row["hostname"] != socket.gethostname():
        where = f"on {row['hostname']}"
    elif row["pid"] and alive(row["pid"]) and "runhost" in cmdline(row["pid"]):
        where = f"pid {row['pid']}"
    else:
        return
    raise HostConflict(ERR_HOST_RUNNING.format(instance=instance_id, where=where))


def leftovers_end(*, instance_id: str, root: Path) -> list[tuple[WebJob, int, int]]:
    """Kill what a crashed host of this instance left; returns (job, process
    group, processes ended) for each recorded group that had some.

    1. The recorded groups: only processes of the group whose environment
       carries the job's marker, this instance's id and this WEBJOBS_ROOT
       are killed, never a process that merely reuses a recorded pid.
    2. A sweep for the same environment entries with any job's marker, for
       a job launched in the instant before the crash, before its row was
       written.
    """
    mine = (
        f"WEBSITE_INSTANCE_ID={instance_id}",
        f"WEBJOBS_EMULATOR_ID={emulator_id(root)}",
    )
    rows = InstanceStatus.objects.filter(
        instance_id=instance_id, pid__isnull=False
    ).select_related("job")
    ended, found = {os.getpid()}, []
    for row in rows:
        marker = f"{MARKER}{row.job.name}=true"
        victims = [
            pid for pid in group_members(row.pid) if environ_has(pid, marker, *mine)
        ]
        for pid in victims:
            signal_quietly(pid, signal.SIGKILL)
        ended.update(victims)
        if victims:
            found.append((row.job, row.pid, len(victims)))
        InstanceStatus.objects.filter(pk=row.pk).update(pid=None)
    for pid in environ_search(MARKER, *mine):
        if pid not in ended:
            log.warning("ending unrecorded leftover job process %d", pid)
            signal_quietly(pid, signal.SIGKILL)
    return found
