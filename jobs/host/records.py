"""What the continuous-jobs host records of its children, a part of Host
(supervisor.py) by topic: their output read from their pipes (one selector for
all), their log lines (job_log.txt, 200 output lines per launch, and
output_log.txt, all of it: logs.py writes them) and their statuses, kept in
memory and written as InstanceStatus rows at the end of a step (statuses.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from core import continuous as core
from core.kudu import log_line
from jobs.host.children import Child
from jobs.host.logs import append_log, logs_flush
from jobs.host.statuses import statuses_write

log = logging.getLogger("jobs.host")

READ_BYTES = 65536


class Records:
    """Mixed into Host: uses the host's children, selector, instance_id, its
    clock (now) and the children's data folders (_data_dir)."""

    # --- the output ---------------------------------------------------------------

    def _read(self, child: Child, pipe) -> bool:
        """Read one chunk of a child's pipe; False when nothing is there now."""
        level = child.pipes[pipe]
        try:
            chunk = os.read(pipe.fileno(), READ_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        lines, child.partial[level] = core.split_lines(
            child.partial[level], chunk, final=not chunk
        )
        for line in lines:
            self._output_line(child, level, line)
        if not chunk:  # end of file: the process and its children closed it
            self.selector.unregister(pipe)
            del child.pipes[pipe]
            pipe.close()
        return bool(chunk)

    def _output_line(self, child: Child, level: str, raw: bytes) -> None:
        record = self._line(raw.decode("utf-8", "replace"), level=level, system=False)
        self.unflushed.add(child.spec.pk)
        child.out_log.append(record)
        if child.lines < core.MAX_OUTPUT_LINES:
            child.job_log.append(record)
        elif child.lines == core.MAX_OUTPUT_LINES:
            child.job_log.append(self._line(core.MSG_OUTPUT_CAP, level="WARN"))
        child.lines += 1

    def _drain(self, child: Child) -> None:
        """Read what the exited process left in its pipes, then close them."""
        for pipe, level in list(child.pipes.items()):
            while pipe in child.pipes and self._read(child, pipe):
                pass
            lines, child.partial[level] = core.split_lines(
                child.partial[level], b"", final=True
            )
            for line in lines:
                self._output_line(child, level, line)
        self._close_pipes(child)

    def _close_pipes(self, child: Child) -> None:
        for pipe in child.pipes:
            try:
                self.selector.unregister(pipe)
            except (KeyError, ValueError):
                pass
            pipe.close()
        child.pipes = {}

    # --- statuses and logs --------------------------------------------------------

    def _set_status(self, child: Child, status: str) -> None:
        if child.state == status:
            return
        child.state = status
        self.dirty.add(child.spec.pk)
        self._log(child, core.MSG_STATUS.format(status=status))

    def _flush_statuses(self) -> None:
        """Write changed statuses as rows; on a database error they stay dirty
        for the next step."""
        if not self.dirty:
            return
        children = [self.children[pk] for pk in sorted(self.dirty & set(self.children))]
        statuses_write(children, instance_id=self.instance_id, now=self.now())
        self.dirty.clear()

    def _log(self, child: Child, message: str, level: str = "INFO") -> None:
        self.unflushed.add(child.spec.pk)
        child.job_log.append(self._line(message, level=level))

    def _line(self, message: str, *, level: str = "INFO", system: bool = True):
        return log_line(
            self.now(), self.instance_id, message, level=level, system=system
        ).encode("utf-8", "replace")

    def _flush_logs(self) -> None:
        while self.unflushed:
            child = self.children.get(self.unflushed.pop())
            if child is not None:
                logs_flush(child, self._data_dir(child.spec.name))

    def _append(self, path: Path, data: bytes, *, limit: int, prev: str) -> None:
        try:
            append_log(path, data, limit=limit, prev_name=prev)
        except OSError:
            log.exception("could not write %s", path)
