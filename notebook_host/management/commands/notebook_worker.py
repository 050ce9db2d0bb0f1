"""``manage.py notebook_worker``: a process that runs notebook kernels for the fronts.

Start as many as you like, on any machine that reaches the same Redis and
the same notebook files (docs/scaling.md). SIGTERM drains and exits 0.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notebook_host.backends import kernels
from notebook_host.metrics.server import MetricsServer
from notebook_host.metrics.view import mark_process_dead
from notebook_host.workers import settings


class Command(BaseCommand):
    help = "Run notebook kernels for the front ends (NOTEBOOK_HOST['KERNELS'] = 'workers')."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-sessions",
            type=int,
            default=None,
            help="Kernel sessions this worker takes (default: WORKER_MAX_SESSIONS, "
            "else MAX_SESSIONS).",
        )
        parser.add_argument(
            "--name", default=None, help="Name in heartbeats and logs (default: host-pid)."
        )
        parser.add_argument(
            "--drain-timeout",
            type=float,
            default=30.0,
            help="Seconds SIGTERM waits for open sockets before ending them (default 30).",
        )
        parser.add_argument(
            "--alive-file",
            default=None,
            help="A file touched at each heartbeat while the worker is alive (removed on exit); "
            "under systemd (Type=notify) WATCHDOG=1 is sent too.",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=None,
            help="Serve /metrics (Prometheus) and /live (200 while the heartbeat loop runs) "
            "on this port (default: none; docs/metrics.md).",
        )
        parser.add_argument(
            "--metrics-host",
            default="127.0.0.1",
            help="Address the metrics port binds (default 127.0.0.1; 0.0.0.0 for all).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = settings.problems()
        if problems:
            raise CommandError("; ".join(f"{ident}: {message}" for ident, message, _ in problems))
        if not kernels().uses_workers:
            raise CommandError(
                f"NOTEBOOK_HOST['KERNELS'] is {kernels().name!r}: fronts run kernels themselves "
                "and would never send work to a worker. Set it to 'workers'."
            )
        capacity = options["max_sessions"] or settings.default_capacity()
        if capacity < 1:
            raise CommandError(f"--max-sessions must be at least 1, got {capacity}")
        drain = options["drain_timeout"]
        if drain < 0:
            raise CommandError(f"--drain-timeout must be >= 0, got {drain}")
        name = options["name"] or f"{socket.gethostname()}-{os.getpid()}"
        # Reads Redis (an evicting policy refuses the start): only once settings are valid.
        from notebook_host.workers import checks

        serious = [m for m in checks.log_at_startup() if m.is_serious()]
        if serious:
            raise CommandError("; ".join(f"{m.id}: {m.msg} {m.hint}" for m in serious))
        port = options["metrics_port"]
        if port is not None and not 0 <= port <= 65535:
            raise CommandError(f"--metrics-port must be a port number (0-65535), got {port}")
        # The worker's own module imports the channel layer and Redis: optional deps.
        from notebook_host.workers.alive import Alive
        from notebook_host.workers.worker.process import Worker

        worker = Worker(name, capacity, drain)
        worker.alive = Alive(options["alive_file"])
        server = None
        if port is not None:
            try:
                server = MetricsServer(options["metrics_host"], port, worker.is_alive)
            except (OSError, ImproperlyConfigured) as exc:
                raise CommandError(str(exc)) from exc
            server.start()
        try:
            code = asyncio.run(worker.run())
        finally:
            if server is not None:
                server.stop()
            mark_process_dead()
        raise SystemExit(code)
