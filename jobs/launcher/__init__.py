"""The launcher of one instance: runs started at their due instant by one
long-lived process per shard (`manage.py runlauncher --shard N`).

- inbox.py: how a fire reaches a launcher (a datagram on a per-instance socket);
- gate.py: the job's process started ahead and held until the instant;
- fires.py: where scheduled fires come from (the scheduler registers itself);
- loop.py: the launcher's loop: timer heap, starts, logs, records, finishes.
"""
