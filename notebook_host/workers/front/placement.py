"""Placing a socket's session: on the worker holding it, else the least loaded one.

A socket is placed on the least loaded live worker (or, for a known session
id, on the worker holding it: a reconnect through any front resumes the same
kernel), after its per-user slot is held. When no worker is alive or all are
full, or Redis is unreachable, the tab shows marimo's startup-error dialog
with a sentence saying so, and reloads by itself once it can be served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from ... import closecodes
from ...admission import limits
from ...admission.arrival import Arrival
from ...marimo import protocol
from ...metrics import record as metrics
from ...runtime.owners import same_owner
from ...targets.notebook import ServedNotebook
from .. import records, replay_store, settings, state

logger = logging.getLogger(__name__)


NO_WORKER = (
    "No notebook worker can take this session right now (none is running, or all are "
    "full); this page retries by itself and opens as soon as one can."
)


def same_process(worker: records.WorkerInfo | None, entry: records.WorkerRecord) -> bool:
    """True when ``worker`` is the process that holds the entry's kernel.

    A worker restarted under its name (a systemd unit named ``%H-%i``) beats
    with the same name but a new channel: its kernels are gone.
    """
    return worker is not None and worker.channel == entry.channel


def limit_seconds() -> float:
    """How long a socket's hold on a per-user slot lasts between refreshes."""
    return max(3 * settings.heartbeat(), settings.expiry())


@dataclass
class SocketAdmission:
    """A socket the front's pipeline admitted: what placing and recording it need."""

    notebook: ServedNotebook
    prefix: str
    path_params: dict[str, Any]
    session_id: str
    owner: str | None
    user: Any
    #: The page's query, and the user dict and meta the kernel gets.
    query: bytes
    info: dict[str, Any]
    meta: dict[str, Any]
    kernel_scope: dict[str, Any]

    @classmethod
    def of(cls, arrival: Arrival, scope: dict[str, Any]) -> SocketAdmission:
        return cls(
            notebook=arrival.notebook,
            prefix=arrival.prefix,
            path_params=arrival.path_params,
            session_id=protocol.socket_session_id(arrival.scope.get("query_string", b"")),
            owner=arrival.owner,
            user=arrival.user,
            query=scope[protocol.PAGE_SCOPE_KEY]["query_string"],
            info=scope["user"],
            meta=scope["meta"],
            kernel_scope=scope,
        )


async def place(
    admitted: SocketAdmission, limit_key: str, scope: dict[str, Any]
) -> records.WorkerRecord | str | None:
    """The session's entry on its worker; a sentence when it cannot be placed.

    None refuses the socket: the id belongs to someone else or another page.
    """
    session_id = admitted.session_id
    entry = await state.session(session_id)
    if entry is not None and (
        entry.prefix != admitted.prefix or not same_owner(entry.owner, admitted.owner)
    ):
        logger.warning(
            "Refused websocket %s for %s: session %s belongs to someone else",
            scope["path"],
            admitted.user,
            session_id,
        )
        return None
    per_user = limits.configured_limit("MAX_SESSIONS_PER_USER")
    if not await state.hold(limit_key, session_id, per_user, limit_seconds()):
        refusal = limits.OverLimit("user", per_user or 0, int(limit_seconds()) + 1)
        metrics.session_refused("over_limit")
        logger.warning("Refused websocket %s: %s", scope["path"], refusal.message)
        return refusal.message
    holder = entry.worker if entry is not None else ""
    if entry is not None and not same_process(await state.worker(entry.worker), entry):
        holder = ""  # its worker stopped, or was restarted under its name: no kernel
    # One atomic step across fronts: the chosen worker's slot is reserved.
    chosen = await state.place(session_id, holder)
    if entry is not None and chosen is not None and holder and chosen.name == holder:
        return entry  # a reconnect: same kernel, through whichever front
    if chosen is None:
        await state.release(limit_key, session_id)
        metrics.session_refused("no_worker")
        logger.warning("Refused websocket %s: no worker has room", scope["path"])
        return NO_WORKER
    entry = records.WorkerRecord(
        session_id=session_id,
        worker=chosen.name,
        channel=chosen.channel,
        owner=admitted.owner,
        limit_key=limit_key,
        route={"path": scope["path"], "root_path": scope.get("root_path", "")},
        prefix=admitted.prefix,
        page_query=admitted.query,
        user_id=getattr(admitted.user, "pk", None),
        user_info=admitted.info,
        meta=admitted.meta,
        path_params=admitted.path_params,
        code_hash=replay_store.code_of(admitted.notebook.file),
    )
    logger.info("Session %s placed on worker %s", session_id, chosen.name)
    return entry


async def could_place(admitted: SocketAdmission, limit_key: str) -> bool:
    """True once placing ``admitted`` would work: a worker has room, the user a slot."""
    if state.least_loaded(await state.workers()) is None:
        return False
    per_user = limits.configured_limit("MAX_SESSIONS_PER_USER")
    ok = await state.hold(limit_key, admitted.session_id, per_user, limit_seconds())
    if ok:
        await state.release(limit_key, admitted.session_id)
    return ok


async def layer_unreachable(
    scope: dict[str, Any], receive: Any, send: Any, exc: state.ClusterUnavailable
) -> None:
    """marimo's startup-error dialog saying why, and a reload once Redis answers."""
    logger.error("Websocket %s: %s", scope.get("path"), exc)
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    text = protocol.frame(protocol.OP_STARTUP_ERROR, error=exc.public)
    await send({"type": "websocket.send", "text": text})

    async def redis_back() -> None:
        while True:
            await asyncio.sleep(limits.WAIT_POLL_SECONDS)
            with contextlib.suppress(state.ClusterUnavailable):
                await state.workers()
                return

    back = asyncio.ensure_future(redis_back())
    gone = asyncio.ensure_future(receive())
    await asyncio.wait({back, gone}, return_when=asyncio.FIRST_COMPLETED)
    if back.done() and not gone.done():
        await send({"type": "websocket.send", "text": protocol.frame(protocol.OP_RELOAD)})
        await send(closecodes.close_message(closecodes.NORMAL))
    for task in (back, gone):
        task.cancel()
