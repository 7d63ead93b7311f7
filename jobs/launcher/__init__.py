"""The launcher of one instance: runs started without a process per run by one
long-lived process per shard (`manage.py runlauncher --shard N`): scheduled
fires at their due instant, on-demand runs at once.

- inbox.py: how a fire or a run reaches a launcher (a datagram on a per-instance
  socket);
- gate.py: the job's process started ahead and held until the instant or the go;
- fires.py: where scheduled fires come from (the scheduler registers itself);
- ondemand.py: on-demand runs: the claim that races the queue task, the go,
  spares;
- loop.py: the launcher's loop: timer heap, starts, logs, records, finishes.
"""
