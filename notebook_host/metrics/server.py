"""``notebook_worker --metrics-port N``: the worker's metrics and liveness.

A worker serves no HTTP of its own, so this small server, on a thread of its
own, answers ``GET /metrics`` (this process's metrics; with
``METRICS_TOKEN`` set, only to ``Authorization: Bearer <token>``) and
``GET /live``: 200 while the worker's loop counts its kernels each
heartbeat, 503 once it stopped (a stuck loop stops beating too, and fronts
stop placing sessions there). ``/live`` says nothing but ok or stuck, so it
needs no token: point systemd, Kubernetes or a load balancer's probe at it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from .view import bearer_matches, metrics_token

logger = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
LIVE_PATH = "/live"
#: Seconds a probe's connection may stay silent before it is dropped.
REQUEST_TIMEOUT = 10.0


class MetricsServer:
    """The metrics and liveness server of one worker process."""

    def __init__(self, host: str, port: int, alive: Callable[[], bool]) -> None:
        token = metrics_token()
        handler = _handler(alive, token)
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise OSError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self.thread.start()
        logger.info("Worker metrics on http://%s:%d%s", *self.address, METRICS_PATH)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(alive: Callable[[], bool], token: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == LIVE_PATH:
                ok = alive()
                self._answer(200 if ok else 503, b"ok\n" if ok else b"stuck\n", "text/plain")
            elif path == METRICS_PATH:
                if token and not bearer_matches(self.headers.get("Authorization"), token):
                    self._answer(401, b"bearer token required\n", "text/plain")
                    return
                self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            else:
                self._answer(404, b"not found: try /metrics or /live\n", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            logger.debug("metrics: " + format, *args)

    return Handler
