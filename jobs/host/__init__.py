"""The continuous-jobs host of one instance (`manage.py runhost`).

- supervisor.py: the loop (Host): desired state, heartbeat, the children's scan;
- launches.py: a child's process: start, exit, restart, graceful stop, its lease;
- records.py: the children's output, log lines and statuses, as the host records them;
- children.py: what the host knows of each job (its spec and its process);
- leases.py: the singleton lease of an `is_singleton` job;
- leftovers.py: one host per instance, and what a crashed host left running;
- logs.py: job_log.txt and output_log.txt, appended and rotated as Kudu does.
"""
