"""The parts of bench/fire_lateness.py (its entry point and command line):

- plan.py: how long each part runs, what the instance runs, the job's script;
- measure.py: starts read back, lateness on the due grid, a measured window;
- ours.py: our per-second and per-minute schedules, and where their time goes;
- beat.py: the celery beat peer, run the same way;
- scale.py: 100 to 100,000 enabled scheduler jobs, 100 of them firing;
- rows.py: the Django side, run in a subprocess with an instance's environment
  (bench/harness/tasks.py): the product's rows read back, jobs created;
- report.py: the tables.

The instance set-up and the CPU and memory probes are bench/harness/, which the
other benchmarks share.
"""
