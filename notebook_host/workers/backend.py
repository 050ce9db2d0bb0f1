"""The workers backend: kernels run in ``manage.py notebook_worker`` processes.

A session lives on one worker and is recorded in the cluster's Redis
directory (:mod:`.state`), so any front reaches it. A socket is admitted on
the front, placed on a worker and pumped as numbered frames by
:class:`.front.consumer.WorkerConsumer`; API calls and downloads are checked
against the Redis record and forwarded to the session's worker
(:mod:`.front.forwarding`), which answers through this front's mailbox.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, JsonResponse

from .. import closecodes
from ..admission.arrival import Arrival, Kind
from ..admission.kernel_call import call_scope, call_session_id, check_call
from ..admission.pipeline import admit_front
from ..admission.refusals import Refused
from ..backends.base import KernelBackend, KernelCall, Readiness, Receive, Send
from ..runtime import session_rows
from ..runtime.owners import same_owner
from . import checks, records, replay_store, state
from .front import forwarding
from .front.health import cluster_health
from .protocol import CLOSE_SESSION, reply_headers

logger = logging.getLogger(__name__)


class WorkersBackend(KernelBackend):
    """Kernels in worker processes (``KERNELS = "workers"``)."""

    name = "workers"
    consumer = "notebook_host.workers.front.consumer.WorkerConsumer"
    uses_workers = True

    def at_startup(self) -> None:
        # A Redis that evicts, a key or versions unlike the cluster's: said at start-up.
        checks.log_at_startup()

    async def find_call(self, scope: dict[str, Any]) -> KernelCall | None:
        try:
            entry = await state.session(call_session_id(scope))
            if entry is None:
                return None
            request = check_call(scope, entry.prefix, lambda key: same_owner(entry.owner, key))
        except (Refused, state.ClusterUnavailable):
            return None  # the view answers (and says when Redis is down)
        path = request.path
        subpath = path[len(entry.prefix) + 1 :]
        route = {"path": request.path_info, "root_path": ""}
        return KernelCall(entry.session_id, subpath, call_scope(scope, path, entry), (entry, route))

    async def send_call(self, call: KernelCall, body: bytes, receive: Receive, send: Send) -> None:
        entry: records.WorkerRecord
        entry, route = call.session
        session_rows.touch(entry.session_id)
        try:
            await replay_store.record(entry, call.subpath, body)  # kept before the kernel sees it
        except state.ClusterUnavailable as exc:
            logger.warning("Widget values of %s not kept: %s", entry.session_id, exc)
        path = call.scope["path"]
        fields = {"session_id": entry.session_id, "route": route}
        replies = forwarding.exchange(entry.channel, fields, call.scope, body)
        try:
            start = await anext(replies)
        except forwarding.WorkerError as exc:
            answer = JsonResponse({"detail": str(exc)}, status=exc.status)
            content_type = answer["Content-Type"].encode("latin-1")
            headers = [(b"content-type", content_type)]
            await send({"type": "http.response.start", "status": exc.status, "headers": headers})
            await send({"type": "http.response.body", "body": answer.content})
            return
        status, headers = int(start["status"]), reply_headers(start.get("headers", []))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        try:
            async for piece in replies:
                more = not piece.get("end")
                piece_body = bytes(piece.get("body") or b"")
                await send({"type": "http.response.body", "body": piece_body, "more_body": more})
        except forwarding.WorkerError as exc:
            logger.warning("Forwarded %s broke off: %s", path, exc)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def forward(
        self, request: HttpRequest, arrival: Arrival
    ) -> HttpResponse | Refused | None:
        if arrival.kind not in (Kind.API, Kind.DOWNLOAD):
            return None
        if not forwarding.needs_worker(request, arrival.subpath or ""):
            return None
        admitted = await admit_front(arrival)
        if isinstance(admitted, Refused):
            return admitted
        return await forwarding.forward(request, arrival, admitted)

    async def readiness(self) -> Readiness:
        counts, detail = await cluster_health()
        return Readiness(ready=counts["workers_ready"] > 0, counts=counts, detail=detail)

    async def end_sessions_of(self, owner: str) -> list[str]:
        """Ask the workers to close ``owner``'s sessions, and forget them in Redis."""
        layer = get_channel_layer()
        entries = await state.sessions_of(owner)
        for entry in entries:
            with contextlib.suppress(Exception):
                await layer.send(
                    entry.channel,
                    {
                        "type": CLOSE_SESSION,
                        "session_id": entry.session_id,
                        "code": closecodes.SIGNED_OUT,
                    },
                )
            await state.forget(entry.session_id)
            await state.release(entry.limit_key, entry.session_id)
        return [e.session_id for e in entries]
