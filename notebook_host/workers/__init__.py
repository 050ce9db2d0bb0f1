"""Kernels in worker processes (``NOTEBOOK_HOST["KERNELS"] = "workers"``).

Fronts (daphne) admit requests and sockets, then forward them through the
Channels channel layer to ``manage.py notebook_worker`` processes, which run
the marimo apps and kernels. Shared state (session directory, per-user
limits, worker heartbeats) lives in Redis with expiry. See docs/scaling.md.

- ``protocol``: message types, sequence numbers, chunking
- ``state``: Redis-backed heartbeats, session directory, limits
- ``worker``: the worker process's runtime
- ``front``: the front's forwarding of HTTP and sockets
"""
