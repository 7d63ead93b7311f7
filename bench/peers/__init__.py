"""The peer schedulers bench/fire_lateness.py measures beside the emulator.

Each peer does what a scheduled WebJob does: at the due instant, start a process
that appends one line ``<schedule> <intended due> <its own start time>`` to a
file. The intended due instant is read from the peer itself, as
/work/shared/reference/peers.md describes, so lateness is measured, not guessed.
"""

# The child's only instruction: bash's $EPOCHREALTIME is a builtin (no fork), so
# the time written is the process's own start, as in the emulator's job script.
CHILD_SCRIPT = 'printf "%s %s %s\\n" "$1" "$2" "$EPOCHREALTIME" >> "$3"'


def start_child(name: str, due: str, starts: str) -> None:
    """Start the job's process and wait for it (a few ms), as a worker would."""
    import subprocess

    subprocess.run(
        ["bash", "-c", CHILD_SCRIPT, "bash", name, due, starts],
        stdin=subprocess.DEVNULL,
        check=False,
    )
