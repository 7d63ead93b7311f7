"""Package validation for WebJobs: names, zips, runnable detection, settings.job.

Pure functions over plain values and paths handed in by the caller; the deploy
service (jobs/services.py) owns the temporary folders and the swap into place.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from core.ncrontab import CronError, cron_validate, cron_validate_time_zone
from core.storable import json_problem

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
NAME_MAX = 64
# The script's path in the package is stored (WebJob.run_command: 512 characters).
RUN_COMMAND_MAX = 512
# stopping_wait_time: Kudu reads an int of seconds; a day is more than any host
# waits for a job to stop.
MAX_STOPPING_WAIT = 86400

ERR_NAME = (
    "Invalid WebJob name {name!r}: a name starts with a letter or a digit and "
    "contains only letters, digits, '-' and '_' (at most 64 characters)."
)
ERR_EMPTY = "The upload is empty: send the script or zip file as the request body."
ERR_TOO_BIG = "The upload is {size} bytes; the limit is {limit} bytes."
ERR_NOT_ZIP = "The upload is not a valid zip file ({detail})."
ERR_ZIP_PATH = "The zip entry {entry!r} is not allowed: entries must be relative paths inside the job folder."  # noqa: E501
ERR_ZIP_LINK = "The zip entry {entry!r} is a symbolic link; links are not allowed."
ERR_ZIP_FILES = (
    "The zip holds {count} entries (files and folders); the limit is {limit}."
)
ERR_ZIP_CONFLICT = (
    "The zip entry {entry!r} conflicts with another: a path is either a file or a "
    "folder, appears once, and is not the job folder itself."
)
ERR_ZIP_SIZE = "The zip unpacks to more than {limit} bytes; the limit is {limit} bytes."
ERR_FILENAME = "Invalid file name {filename!r} in Content-Disposition."
ERR_NO_RUNNABLE = "No runnable script file was found."
ERR_SETTINGS_JSON = "settings.job is not valid JSON: {detail}"
ERR_SETTINGS_OBJECT = "settings.job must be a JSON object, not {kind}."
ERR_SETTINGS_TYPE = "settings.job key {key!r} must be {kind}."
ERR_SETTINGS_SCHEDULE = "settings.job schedule is invalid: {detail}"
MSG_SCHEDULE_IGNORED = (
    "settings.job has a schedule ({schedule!r}); it is ignored: schedules apply "
    "to triggered WebJobs only, a continuous WebJob runs all the time."
)
ERR_SETTINGS_TIME_ZONE = "settings.job schedule_time_zone is invalid: {detail}"
ERR_SETTINGS_LENGTH = "settings.job {key} is {length} characters; the limit is {limit}."
# What the scheduler's timer stores (scheduler.Job.cron, .cron_time_zone).
SETTINGS_LIMITS = {"schedule": 200, "schedule_time_zone": 64}
ERR_SETTINGS_WAIT = (
    "settings.job stopping_wait_time must be at most 86400 seconds, not {value}."
)
ERR_RUN_COMMAND = (
    "The script {path!r} is {length} characters deep in the package; the limit is 512."
)

SETTINGS_FILE = "settings.job"

# Kudu's script hosts in the order it tries them (Kudu.Core/Jobs, ScriptHostBase
# subclasses); .jar comes from Microsoft Learn's Linux list, placed after node.
# Each extension maps to the interpreter argv prefix that runs it on Linux.
SCRIPT_HOSTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("WindowsScriptHost", (".cmd", ".bat", ".exe")),
    ("PowerShellScriptHost", (".ps1",)),
    ("BashScriptHost", (".sh",)),
    ("PythonScriptHost", (".py",)),
    ("PhpScriptHost", (".php",)),
    ("NodeScriptHost", (".js",)),
    ("JavaScriptHost", (".jar",)),
)
RUNNABLE_EXTENSIONS = tuple(ext for _, exts in SCRIPT_HOSTS for ext in exts)


class PackageError(ValueError):
    """A user error in an uploaded package; the message says what to fix."""


class UploadTooLarge(PackageError):
    """413: the upload passes WEBJOBS_MAX_UPLOAD_BYTES."""


@dataclass(frozen=True)
class Runnable:
    script_dir: PurePosixPath  # relative to the job folder ('.' when at top)
    run_command: PurePosixPath  # script path relative to the job folder
    host: str
    extension: str


@dataclass(frozen=True)
class JobSettings:
    raw: dict = field(default_factory=dict)

    @property
    def schedule(self) -> str | None:
        return (
            self.raw.get("schedule")
            if isinstance(self.raw.get("schedule"), str)
            else None
        )

    @property
    def is_singleton(self) -> bool:
        return self.raw.get("is_singleton") is True

    def stopping_wait_time(self, kind: str) -> int:
        value = self.raw.get("stopping_wait_time")
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
        return 5 if kind == "continuous" else 30

    def is_in_place(self, extension: str) -> bool:
        value = self.raw.get("is_in_place")
        if isinstance(value, bool):
            return value
        return extension == ".js"  # Kudu's default: Node jobs run in place


def validate_name(name: str) -> str:
    if not name or len(name) > NAME_MAX or not NAME_RE.match(name):
        raise PackageError(ERR_NAME.format(name=name))
    return name


def clean_filename(filename: str) -> str:
    """Kudu strips quotes and any directory part from the Content-Disposition name."""
    name = filename.strip().strip('"').replace("\\", "/").rsplit("/", 1)[-1]
    if not name or name in (".", "..") or "\x00" in name or len(name) > 255:
        raise PackageError(ERR_FILENAME.format(filename=filename))
    return name


def check_zip(zf: zipfile.ZipFile, *, max_files: int, max_bytes: int) -> None:
    """Reject traversal, absolute paths, links, conflicting entries and zip bombs
    before extracting. Every entry counts towards `max_files`, folders too (each
    is a mkdir). Declared sizes can lie, so safe_extract counts the bytes it
    really writes too.
    """
    infos = zf.infolist()
    if len(infos) > max_files:
        raise PackageError(ERR_ZIP_FILES.format(count=len(infos), limit=max_files))
    total = 0
    files: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()
    for info in infos:
        _check_entry_name(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise PackageError(ERR_ZIP_LINK.format(entry=info.filename))
        _check_no_conflict(info, files, folders)
        total += info.file_size
        if total > max_bytes:
            raise PackageError(ERR_ZIP_SIZE.format(limit=max_bytes))


def _check_no_conflict(info: zipfile.ZipInfo, files: set, folders: set) -> None:
    """A path is a file or a folder, once: `a` then `a/b`, `a/` then `a`, the
    same file twice, or an entry naming the job folder itself (`.`) could not
    be extracted as the zip says."""
    parts = PurePosixPath(info.filename.replace("\\", "/")).parts
    conflict = not parts or any(parts[:n] in files for n in range(1, len(parts)))
    if info.is_dir():
        conflict = conflict or parts in files
        folders.add(parts)
    else:
        conflict = conflict or parts in files or parts in folders
        files.add(parts)
    folders.update(parts[:n] for n in range(1, len(parts)))
    if conflict:
        raise PackageError(ERR_ZIP_CONFLICT.format(entry=info.filename))


def _check_entry_name(entry: str) -> None:
    normalized = entry.replace("\\", "/")
    path = PurePosixPath(normalized)
    if (
        normalized.startswith("/")
        or re.match(r"^[A-Za-z]:", normalized)
        or ".." in path.parts
        or "\x00" in normalized
    ):
        raise PackageError(ERR_ZIP_PATH.format(entry=entry))


def safe_extract(zf: zipfile.ZipFile, dest: Path, *, max_bytes: int) -> None:
    """Extract entry by entry, stopping as soon as the real bytes pass max_bytes."""
    written = 0
    for info in zf.infolist():
        target = dest / PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(64 * 1024):
                written += len(chunk)
                if written > max_bytes:
                    raise PackageError(ERR_ZIP_SIZE.format(limit=max_bytes))
                out.write(chunk)
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            target.chmod(mode | 0o600)


def script_folder(job_dir: Path) -> Path:
    """Kudu descends while a folder holds exactly one entry that is a folder."""
    folder = job_dir
    while True:
        entries = list(folder.iterdir())
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            folder = entries[0]
        else:
            return folder


def find_runnable(job_dir: Path) -> Runnable:
    """Kudu's selection: hosts in order; run.<ext> wins at once, else first match."""
    folder = script_folder(job_dir)
    files = sorted(
        (p for p in folder.iterdir() if p.is_file() and not p.is_symlink()),
        key=lambda p: p.name.lower(),
    )
    fallback: Runnable | None = None
    rel_dir = PurePosixPath(folder.relative_to(job_dir).as_posix())
    for host, extensions in SCRIPT_HOSTS:
        for ext in extensions:
            matches = [p for p in files if p.suffix.lower() == ext]
            for p in matches:
                if p.name.lower() == f"run{ext}":
                    return _fits(Runnable(rel_dir, rel_dir / p.name, host, ext))
            if matches and fallback is None:
                fallback = Runnable(rel_dir, rel_dir / matches[0].name, host, ext)
    if fallback is None:
        raise PackageError(ERR_NO_RUNNABLE)
    return _fits(fallback)


def _fits(runnable: Runnable) -> Runnable:
    path = runnable.run_command.as_posix().removeprefix("./")
    if len(path) > RUN_COMMAND_MAX:
        shown = path[:80] + "..."
        raise PackageError(ERR_RUN_COMMAND.format(path=shown, length=len(path)))
    return runnable


def parse_settings(text: str | None, *, kind: str) -> JobSettings:
    """Validate settings.job: an object, known keys typed, schedule a 6-field CRON.

    Kudu silently ignores a wrongly typed key; the emulator refuses it instead so
    a typo is found at deploy time rather than never. Unknown keys are kept.
    """
    if text is None or not text.strip():
        return JobSettings({})
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, nesting too
        raise PackageError(ERR_SETTINGS_JSON.format(detail=exc)) from None
    return validate_settings(raw, kind=kind)


def validate_settings(raw: object, *, kind: str) -> JobSettings:
    if not isinstance(raw, dict):
        raise PackageError(ERR_SETTINGS_OBJECT.format(kind=type(raw).__name__))
    problem = json_problem("settings.job", raw)  # it is stored as jsonb
    if problem:
        raise PackageError(problem)
    typed = {
        "schedule": (str, "a string"),
        "is_singleton": (bool, "true or false"),
        "is_in_place": (bool, "true or false"),
        "stopping_wait_time": (int, "a whole number of seconds"),
        "schedule_time_zone": (str, "a string"),
    }
    for key, (typ, words) in typed.items():
        value = raw.get(key)
        if key in raw and value is not None:
            if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
                raise PackageError(ERR_SETTINGS_TYPE.format(key=key, kind=words))
    for key, limit in SETTINGS_LIMITS.items():
        value = raw.get(key)
        if isinstance(value, str) and len(value) > limit:
            raise PackageError(
                ERR_SETTINGS_LENGTH.format(key=key, length=len(value), limit=limit)
            )
    wait = raw.get("stopping_wait_time")
    if isinstance(wait, int) and wait < 0:
        raise PackageError(
            ERR_SETTINGS_TYPE.format(key="stopping_wait_time", kind="zero or more")
        )
    if isinstance(wait, int) and wait > MAX_STOPPING_WAIT:
        raise PackageError(ERR_SETTINGS_WAIT.format(value=wait))
    zone = raw.get("schedule_time_zone")
    if zone:
        try:
            cron_validate_time_zone(zone)
        except CronError as exc:
            raise PackageError(ERR_SETTINGS_TIME_ZONE.format(detail=exc)) from None
    schedule = raw.get("schedule")
    # Kudu reads `schedule` for triggered jobs only; a continuous job keeps it
    # unread (the deploy logs that it is ignored), so it is not checked either.
    if schedule is not None and kind == "triggered":
        try:
            cron_validate(schedule)
        except CronError as exc:
            raise PackageError(ERR_SETTINGS_SCHEDULE.format(detail=exc)) from None
    return JobSettings(raw)
