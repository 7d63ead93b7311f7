"""The parts of bench/run_trigger.py (its entry point and command line):

- ours.py: on-demand runs over Kudu's API, one in flight and many, with the
  stages of each run and the CPU of each part of the instance;
- stages.py: when each write of a run's row happened, recorded by a database
  trigger the benchmark installs (so the code measured is not changed);
- peer.py: celery's apply_async of a task that starts the same process;
- lists.py: Kudu's job list and the ARM job list with many jobs and runs;
- report.py: the tables.
"""
