"""What every benchmark of bench/ shares.

- measure.py: percentiles, and the CPU and memory of processes, process
  groups and the whole machine, read from /proc;
- instance.py: a running emulator instance (gunicorn, qcluster, launchers,
  engine) in a temporary folder, on SQLite + ORM broker (A) or PostgreSQL +
  Redis (B), from this checkout or another one (a `git worktree` of main, to
  measure before and after in one run), and jobs deployed over HTTP;
- report.py: the commit measured, the load average, the table saved to
  bench/results/;
- django_setup.py: Django set up inside a benchmark's own process;
- tasks.py: a benchmark's Django task run in a process of an instance's.
"""
