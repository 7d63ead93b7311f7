"""Who may read what under WEBJOBS_ROOT: the emulator's own files stay its own,
a job reads its package and writes its folders.

Every emulator process runs with umask 077 (config/apps.py), so what it writes
(the database, the secret key, the admin password, run logs, Azurite's data) is
0600/0700 by default. A job runs as WEBJOBS_RUN_AS (``nobody`` when the
emulator is root): it reaches its own folders through a spine of directories
that are traversable but not listable (0711), reads its package (0755/0644)
and owns its working copy and its data folder. It cannot list the root, nor
read the database, the keys or another job's run logs (root's, 0600).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings

SPINE = 0o711  # traversable, not listable
PACKAGE_DIR = 0o755


# The spines this process has made (path, mode of its last folder). Every run's
# start asks for the same three (its data, working-copy and shutdown folders'
# parents): walking each from the root cost 17 mkdir and 51 stat a run, a tenth
# of a launcher's CPU per on-demand run (issue 18). A spine made once is only
# checked to be still there; the folders above it are the emulator's own and
# stay as they were made.
_MADE: set[tuple[str, int]] = set()


def spine(path: Path, *, last: int = SPINE) -> Path:
    """Make `path` (under WEBJOBS_ROOT) and every directory above it up to the
    root exist and traversable for a job's user; `last` is the mode of `path`
    itself. Returns `path`."""
    key = (str(path), last)
    if key in _MADE and os.path.isdir(key[0]):
        return path
    root = Path(settings.WEBJOBS_ROOT)
    parts = path.relative_to(root).parts
    current = root
    root.mkdir(parents=True, exist_ok=True)
    _mode(current, SPINE)
    for index, part in enumerate(parts):
        current = current / part
        current.mkdir(exist_ok=True)
        _mode(current, last if index == len(parts) - 1 else SPINE)
    _MADE.add(key)
    return path


def _mode(path: Path, mode: int) -> None:
    if path.stat().st_mode & 0o7777 != mode:
        path.chmod(mode)


def package_readable(folder: Path) -> None:
    """A deployed package, readable by its job: folders 0755, files 0644, or
    0755 when an execute bit was set (the emulator's umask made them 0600)."""
    folder.chmod(PACKAGE_DIR)
    for current, dirs, files in os.walk(folder):
        for name in dirs:
            path = Path(current) / name
            if not path.is_symlink():
                path.chmod(PACKAGE_DIR)
        for name in files:
            path = Path(current) / name
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & 0o111
            path.chmod(0o755 if executable else 0o644)


def job_owns(path: Path, *, tree: bool = False) -> None:
    """Hand a folder (and, with `tree`, everything in it) to the job's user, so
    the job may write there; nothing to do when jobs run as the emulator's
    user."""
    ids = settings.WEBJOBS_RUN_AS_IDS
    if ids is None:
        return
    uid, gid = ids
    os.chown(path, uid, gid, follow_symlinks=False)
    path.chmod(0o700)
    if not tree:
        return
    for current, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.chown(Path(current) / name, uid, gid, follow_symlinks=False)


def job_folders(job) -> None:
    """A job's data folder (WEBJOBS_DATA_PATH) under a traversable spine, its
    own; run logs written in it by the emulator stay the emulator's (0600)."""
    spine(job.data_dir.parent)
    job.data_dir.mkdir(exist_ok=True)
    job_owns(job.data_dir)


def work_copy(package_dir: Path, work_root: Path) -> None:
    """A run's working copy of the package (Kudu runs a copy unless
    is_in_place), the job's to write in."""
    spine(work_root.parent)
    shutil.copytree(package_dir, work_root, symlinks=True)
    job_owns(work_root, tree=True)


def shutdown_folder(path: Path) -> Path:
    """The folder a job watches for its shutdown file: listable (0755), so a
    file-system watcher works; only shutdown files are in it."""
    return spine(path, last=0o755)
