"""Which interpreter runs a script, and whether this host has it.

Kudu on Linux maps its script hosts to bash, python, php, node and pwsh; .jar runs
with java -jar. .cmd/.bat/.exe need cmd.exe, i.e. a Windows host. A runtime the host
lacks is not a crash: the job carries an `error` naming the missing interpreter
and each run of it fails with that message in its output log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

ERR_RUNTIME_MISSING = (
    "Cannot run '{script}': the {host} needs '{program}', which is not installed "
    "on this host (not found on PATH)."
)
ERR_WINDOWS_ONLY = (
    "Cannot run '{script}': {ext} files need the Windows script host (cmd.exe); "
    "this emulator host runs Linux."
)

# extension -> (candidate programs, argv prefix after the program)
_INTERPRETERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ".sh": (("bash",), ()),
    ".py": (("python3", "python"), ("-u",)),
    ".php": (("php",), ()),
    ".js": (("node", "nodejs"), ()),
    ".jar": (("java",), ("-jar",)),
    ".ps1": (("pwsh",), ("-NoLogo", "-NonInteractive", "-File")),
}
_WINDOWS = (".cmd", ".bat", ".exe")


def _which(program: str, runnable: Callable[[str], bool]) -> str | None:
    """shutil.which, skipping what `runnable` refuses."""
    if os.sep in program:
        return program if shutil.which(program) and runnable(program) else None
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        found = shutil.which(program, path=folder) if folder else None
        if found and runnable(found):
            return found
    return None


def override_variable(extension: str) -> str:
    """The environment variable that names a script type's interpreter outright
    (`.py` -> WEBJOBS_PY_PATH)."""
    return f"WEBJOBS_{extension[1:].upper()}_PATH"


@dataclass(frozen=True)
class Runtime:
    argv_prefix: tuple[str, ...]  # empty when error is set
    error: str | None


def resolve_runtime(
    extension: str,
    script: str,
    host: str,
    *,
    runnable: Callable[[str], bool] = lambda path: True,
) -> Runtime:
    """Find the interpreter for a script on this host's PATH: the first one that
    `runnable` says the job's user may execute (a pyenv shim under /root is no
    use to a job that runs as nobody)."""
    ext = extension.lower()
    if ext in _WINDOWS:
        return Runtime((), ERR_WINDOWS_ONLY.format(script=script, ext=ext))
    programs, extra = _INTERPRETERS[ext]
    override = os.environ.get(override_variable(ext))
    candidates = (override,) if override else programs
    for program in candidates:
        found = _which(program, runnable)
        if found:
            return Runtime((found, *extra), None)
    return Runtime(
        (), ERR_RUNTIME_MISSING.format(script=script, host=host, program=programs[0])
    )
