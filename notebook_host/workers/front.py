"""The front's side of worker kernels: place sessions, forward HTTP and sockets.

A front runs no notebook code. Admission (access, parameters, origin, owner,
limits) is decided here exactly as with local kernels; then:

- a socket is placed on the least loaded live worker (or, for a known
  session id, on the worker holding it: a reconnect through any front
  resumes the same kernel), recorded in the Redis session directory, and
  pumped as numbered frames between this consumer's channel and the worker;
- an API call or download of a session is checked against the directory
  (owner key, page) and forwarded to the session's worker; the answer comes
  back to this process's mailbox channel.

When no worker is alive or all are full, or Redis is unreachable, the tab
shows marimo's startup-error dialog with a sentence saying so, and reloads
by itself once it can be served. A dead worker is noticed within one
heartbeat after its heartbeat key expired; a lost frame at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from .. import closecodes
from ..admission import limits, ownership
from ..admission.arrival import Admitted, Arrival, Kind
from ..admission.pipeline import admit_front, socket_arrival
from ..admission.refusals import Reason, Refused
from ..conf import get_config
from ..marimo import protocol
from ..metrics import record as metrics
from ..runtime import session_rows
from ..runtime.owners import same_owner
from ..targets.notebook import ServedNotebook
from ..targets.registered import registered_pk
from ..transports import embedding
from ..transports.bridge import _apply_headers
from ..transports.websocket import NotebookConsumer, _live
from . import replay_store, settings, state
from .protocol import (
    BATCH,
    CLOSE_MESSAGE_LOST,
    CLOSE_NO_ANSWER,
    CLOSE_SESSION,
    CLOSE_WORKER_LOST,
    HTTP,
    WHOLE,
    WS_CONNECT,
    WS_IN,
    WS_PING,
    Incoming,
    Outgoing,
    SequenceGap,
    reply_headers,
    wire_scope,
)

logger = logging.getLogger(__name__)


UNKNOWN_SESSION = "Unknown or expired session"

NO_WORKER = (
    "No notebook worker can take this session right now (none is running, or all are "
    "full); this page retries by itself and opens as soon as one can."
)


def same_process(worker: state.WorkerInfo | None, entry: state.SessionEntry) -> bool:
    """True when ``worker`` is the process that holds the entry's kernel.

    A worker restarted under its name (a systemd unit named ``%H-%i``) beats
    with the same name but a new channel: its kernels are gone.
    """
    return worker is not None and worker.channel == entry.channel


def _limit_seconds() -> float:
    """How long a socket's hold on a per-user slot lasts between refreshes."""
    return max(3 * settings.heartbeat(), settings.expiry())


# -- HTTP ---------------------------------------------------------------------


class Mailbox:
    """This process's reply channel: answers to forwarded requests, by request id."""

    def __init__(self) -> None:
        self.channel = ""
        self.waiting: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def ready(self) -> str:
        async with self._lock:
            if self.task is None or self.task.done():
                layer = get_channel_layer()
                self.channel = await layer.new_channel()
                self.task = asyncio.create_task(self._receive_forever(layer))
        return self.channel

    async def _receive_forever(self, layer: Any) -> None:
        while True:
            try:
                message = await layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: retry, bounded
                metrics.layer_error("receive")
                logger.warning("Mailbox receive failed (%s); retrying", exc)
                await asyncio.sleep(0.5)
                continue
            queue = self.waiting.get(message.get("rid", ""))
            if queue is not None:
                queue.put_nowait(message)


_mailboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Mailbox] = (
    weakref.WeakKeyDictionary()
)


def mailbox() -> Mailbox:
    loop = asyncio.get_running_loop()
    found = _mailboxes.get(loop)
    if found is None:
        found = _mailboxes[loop] = Mailbox()
    return found


def needs_worker(request: HttpRequest, subpath: str) -> bool:
    """True for the routes served by a session's kernel (API calls, downloads)."""
    if subpath.startswith(protocol.API_PREFIX):
        return request.headers.get(protocol.SESSION_HEADER) is not None or request.method not in (
            "GET",
            "HEAD",
        )
    return subpath.startswith(protocol.DOWNLOAD_PREFIX) and subpath != protocol.EMPTY_DOWNLOAD


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


async def forward(request: HttpRequest, arrival: Arrival, admitted: Admitted) -> HttpResponse:
    """An API call or download the pipeline admitted, answered by the session's worker.

    The owner check is the cluster's: the session's record in Redis must name
    this browser (its owner key) and this page.
    """
    owner, prefix = arrival.owner, admitted.prefix
    subpath = arrival.subpath or ""
    try:
        if arrival.kind is Kind.DOWNLOAD:
            thread = protocol.download_thread_id(subpath)
            entries = [e for e in await state.sessions_of(owner) if e.prefix == prefix]
            if thread is None or not entries:
                logger.warning("Refused %s: no session of this browser made it", request.path)
                return _error(404, UNKNOWN_SESSION)
            extra = {"candidates": [e.session_id for e in entries], "thread": thread}
        else:
            session_id = request.headers.get(protocol.SESSION_HEADER)
            entry = await state.session(session_id)
            if entry is None or entry.prefix != prefix or not same_owner(entry.owner, owner):
                ownership.log_refusal(request.method, request.path, session_id)
                return _error(404, UNKNOWN_SESSION)
            entries, extra = [entry], {"session_id": entry.session_id}
            await replay_store.record(entry, subpath, admitted.body)
    except state.ClusterUnavailable as exc:
        logger.error("Refused %s: %s", request.path, exc)
        return _error(503, exc.public)
    entry = entries[0]
    assert admitted.scope is not None
    scope = dict(admitted.scope)
    if entry.user_info is not None and entry.user_id == getattr(arrival.user, "pk", None):
        scope["user"] = entry.user_info  # what the socket's kernel saw: no query per click
    scope[protocol.PAGE_SCOPE_KEY] = {
        "path": prefix + "/",
        "query_string": entry.page_query.encode("latin-1"),
    }
    route = {"path": request.path_info, "root_path": ""}
    response: HttpResponse = _error(404, UNKNOWN_SESSION)
    for channel in dict.fromkeys(e.channel for e in entries):  # a download: each holder
        response = await request_worker(channel, {**extra, "route": route}, scope, admitted.body)
        if response.status_code != 404:
            break
    return response


class WorkerError(Exception):
    """A forwarded request got no (complete) answer: status and a sentence."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


async def exchange(
    channel: str, fields: dict[str, Any], scope: dict[str, Any], body: bytes
) -> AsyncGenerator[dict[str, Any], None]:
    """Send one HTTP request to a worker; yield its start, then its body pieces.

    A small answer comes as one "whole" message, yielded as the same two.

    Raises WorkerError when the worker does not answer in time, a piece is
    missing, or it answers with an error of its own.
    """
    box = mailbox()
    reply = await box.ready()
    rid = uuid.uuid4().hex
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    box.waiting[rid] = queue
    base = {
        "type": HTTP,
        "rid": rid,
        "reply": reply,
        "scope": wire_scope(scope, protocol.PAGE_SCOPE_KEY),
        **fields,
    }
    layer = get_channel_layer()
    timeout = settings.timeout()
    incoming = Incoming()
    try:
        try:
            for message in Outgoing().messages(base, "body", body):
                await asyncio.wait_for(layer.send(channel, message), timeout)
        except TimeoutError as exc:
            raise WorkerError(504, "The notebook's worker did not take the request") from exc
        except Exception as exc:
            detail = f"Could not reach the notebook's worker ({type(exc).__name__})"
            raise WorkerError(503, detail) from exc
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), timeout)
                incoming.check(message)
            except TimeoutError as exc:
                raise WorkerError(504, "The notebook's worker did not answer in time") from exc
            except SequenceGap as exc:
                raise WorkerError(502, f"A message from the worker was lost ({exc})") from exc
            event = message.get("event")
            if event == "error":
                raise WorkerError(int(message["status"]), str(message.get("detail", "")))
            if event == WHOLE:  # start and the whole body in one message
                yield {k: v for k, v in message.items() if k != "body"} | {"event": "start"}
                yield {"event": "body", "body": message.get("body") or b"", "end": True}
                return
            yield message
            if message.get("end"):
                return
    finally:
        box.waiting.pop(rid, None)


async def request_worker(
    channel: str, fields: dict[str, Any], scope: dict[str, Any], body: bytes
) -> HttpResponse:
    """One forwarded request as a Django response; streamed when the body is large."""
    replies = exchange(channel, fields, scope, body)
    chunks: list[bytes] = []
    try:
        start = await anext(replies)
        async for piece in replies:
            chunks.append(bytes(piece.get("body") or b""))
            if piece.get("end"):
                response = HttpResponse(b"".join(chunks), status=int(start["status"]))
                _apply_headers(response, reply_headers(start.get("headers", [])))
                return response
            if len(chunks) > 1:
                break
    except WorkerError as exc:
        await replies.aclose()
        return _error(exc.status, str(exc))

    async def rest() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        try:
            async for piece in replies:
                yield bytes(piece.get("body") or b"")
        except WorkerError as exc:  # the status is sent: cut the download short
            logger.warning("Forwarded download broke off: %s", exc)

    streaming = StreamingHttpResponse(rest(), status=int(start["status"]))
    _apply_headers(streaming, reply_headers(start.get("headers", [])))
    return streaming


async def cluster_health() -> tuple[dict[str, Any], dict[str, Any]]:
    """Counts of live workers and their sessions, and the detail (names, hosts, errors).

    The health views show the detail only to callers HEALTH_DETAIL_ACCESS admits.
    """
    try:
        alive = await state.workers()
    except state.ClusterUnavailable as exc:
        logger.error("Health check: %s", exc)
        counts = {"redis": "unreachable", "workers_alive": 0, "workers_ready": 0}
        return counts | {"worker_sessions": 0, "worker_capacity": 0}, {"redis_error": exc.detail}
    counts = {
        "redis": "ok",
        "workers_alive": len(alive),
        "workers_ready": sum(1 for w in alive if not w.draining),
        "worker_sessions": sum(w.sessions for w in alive),
        "worker_capacity": sum(w.capacity for w in alive if not w.draining),
    }
    workers = [
        {
            "name": w.name,
            "sessions": w.sessions,
            "idle": w.idle,
            "capacity": w.capacity,
            "draining": w.draining,
            "host": w.host,
        }
        for w in alive
    ]
    return counts, {"workers": workers}


# -- sockets ------------------------------------------------------------------


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


class WorkerConsumer(NotebookConsumer):
    """A notebook socket whose kernel runs in a worker (KERNELS = "workers")."""

    stream = ""
    entry: state.SessionEntry | None = None
    watchdog: asyncio.Task[None] | None = None
    keeper: replay_store.Keeper
    accepted = False
    ended = False
    #: Redis failed while this socket was open: frames may be gone unnoticed.
    outage = False
    #: When Redis answered again after an outage (monotonic; 0: not yet).
    outage_over = 0.0

    channel_name = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if self.channel_name:
                raise
            # The layer gave no channel (the pub/sub layer subscribes at once): Redis is down.
            await self._layer_unreachable(receive, send, state.ClusterUnavailable(exc))

    async def _layer_unreachable(
        self, receive: Any, send: Any, exc: state.ClusterUnavailable
    ) -> None:
        """marimo's startup-error dialog saying why, and a reload once Redis answers."""
        logger.error("Websocket %s: %s", self.scope.get("path"), exc)
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

    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        """Channels' consumer dies when its layer receive raises (Redis down): retry instead.

        Frames lost meanwhile show up as a gap in the numbers, which ends the
        socket with a reason; a blip alone must not kill every socket.
        """

        async def resilient() -> dict[str, Any]:
            while True:
                try:
                    return await receive()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    metrics.layer_error("receive")
                    logger.warning("Socket %s: layer receive failed: %s", self.scope["path"], exc)
                    self.outage = True
                    await asyncio.sleep(0.5)

        self._receive_from_layer = resilient

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        # A framed page's socket URL carries its embed marker: not the kernel's.
        embedding.take_scope_marker(self.scope)
        arrival = await socket_arrival(self.scope)
        result = await admit_front(arrival) if isinstance(arrival, Arrival) else arrival
        if isinstance(result, Refused):
            await self._refuse(result)
            return
        assert isinstance(arrival, Arrival) and result.scope is not None
        admitted = SocketAdmission.of(arrival, result.scope)
        self.notebook = admitted.notebook
        if not admitted.session_id:
            await self._refuse(Refused(Reason.NOT_FOUND))
            return
        self.limit_key = limits.limit_key(admitted.user, admitted.owner)
        try:
            placed = await self._place(admitted)
        except state.ClusterUnavailable as exc:
            metrics.session_refused("redis_unavailable")
            logger.error("Websocket %s: %s", self.scope["path"], exc)
            await self._refuse_and_wait("Session store unreachable", exc.public, admitted)
            return
        if placed is None:
            await self.send(closecodes.close_message(closecodes.REFUSED))
            return
        if isinstance(placed, str):
            await self._refuse_and_wait("Cannot open a session", placed, admitted)
            return
        self.stream = uuid.uuid4().hex
        self.incoming, self.outgoing = Incoming(), Outgoing()
        placed.front, placed.stream = self.channel_name, self.stream
        self.entry = placed
        try:
            await state.record(placed, self._entry_ttl())
        except state.ClusterUnavailable as exc:
            logger.error("Websocket %s: %s", self.scope["path"], exc)
            await self._refuse_and_wait("Session store unreachable", exc.public, admitted)
            return
        scope = wire_scope(admitted.kernel_scope, protocol.PAGE_SCOPE_KEY)
        with contextlib.suppress(state.ClusterUnavailable):  # no values: a fresh kernel
            restored = await replay_store.plan(placed.session_id, admitted.owner, placed.code_hash)
            if restored is not None:  # applied only if the worker starts a new kernel
                scope[protocol.REPLAY_SCOPE_KEY] = restored
        connect = {
            "type": WS_CONNECT,
            "stream": self.stream,
            "front": self.channel_name,
            "session_id": placed.session_id,
            "route": placed.route,
            "scope": scope,
        }
        self.keeper = replay_store.Keeper(placed.session_id)
        if not await self._to_worker(connect):
            return
        _live.add(self)
        self.session_id = self.live_id = placed.session_id
        self.watchdog = asyncio.create_task(self._watch())
        await session_rows.opened(
            self,
            placed.session_id,
            admitted.notebook,
            admitted.user,
            registered_pk(admitted.notebook),
            worker=placed.worker,
        )

    async def _place(self, admitted: SocketAdmission) -> state.SessionEntry | str | None:
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
                self.scope["path"],
                admitted.user,
                session_id,
            )
            return None
        per_user = limits._limit("MAX_SESSIONS_PER_USER")
        if not await state.hold(self.limit_key, session_id, per_user, _limit_seconds()):
            refusal = limits.OverLimit("user", per_user or 0, int(_limit_seconds()) + 1)
            metrics.session_refused("over_limit")
            logger.warning("Refused websocket %s: %s", self.scope["path"], refusal.message)
            return refusal.message
        holder = entry.worker if entry is not None else ""
        if entry is not None and not same_process(await state.worker(entry.worker), entry):
            holder = ""  # its worker stopped, or was restarted under its name: no kernel
        # One atomic step across fronts: the chosen worker's slot is reserved.
        chosen = await state.place(session_id, holder)
        if entry is not None and chosen is not None and holder and chosen.name == holder:
            return entry  # a reconnect: same kernel, through whichever front
        if chosen is None:
            await state.release(self.limit_key, session_id)
            metrics.session_refused("no_worker")
            logger.warning("Refused websocket %s: no worker has room", self.scope["path"])
            return NO_WORKER
        entry = state.SessionEntry(
            session_id=session_id,
            worker=chosen.name,
            channel=chosen.channel,
            owner=admitted.owner,
            limit_key=self.limit_key,
            route={"path": self.scope["path"], "root_path": self.scope.get("root_path", "")},
            prefix=admitted.prefix,
            page_query=admitted.query.decode("latin-1"),
            user_id=getattr(admitted.user, "pk", None),
            user_info=admitted.info,
            meta=admitted.meta,
            path_params=admitted.path_params,
            code_hash=replay_store.code_of(admitted.notebook.file),
        )
        logger.info("Session %s placed on worker %s", session_id, chosen.name)
        return entry

    def _entry_ttl(self) -> float:
        return float(get_config()["SESSION_TTL"]) + settings.expiry()

    async def _refuse_and_wait(self, title: str, text: str, admitted: SocketAdmission) -> None:
        """marimo's startup-error dialog with ``text``; reload once a retry would work."""
        await self.send({"type": "websocket.accept"})
        await self._send_op(protocol.OP_STARTUP_ERROR, error=text)
        await self._send_op(protocol.OP_BANNER, title=title, description=text, variant="danger")
        self.waiting = asyncio.create_task(self._wait_until(lambda: self._could_place(admitted)))

    async def _could_place(self, admitted: SocketAdmission) -> bool:
        if state.least_loaded(await state.workers()) is None:
            return False
        per_user = limits._limit("MAX_SESSIONS_PER_USER")
        ok = await state.hold(self.limit_key, admitted.session_id, per_user, _limit_seconds())
        if ok:
            await state.release(self.limit_key, admitted.session_id)
        return ok

    async def _wait_until(self, ready: Callable[[], Awaitable[bool]]) -> None:
        while True:
            await asyncio.sleep(limits.WAIT_POLL_SECONDS)
            with contextlib.suppress(state.ClusterUnavailable):
                if await ready():
                    logger.info("Can serve %s now: reloading the page", self.scope["path"])
                    await self._send_op(protocol.OP_RELOAD)
                    await self.send(closecodes.close_message(closecodes.NORMAL))
                    return

    async def _to_worker(self, message: dict[str, Any]) -> bool:
        """Send to the session's worker; a failure ends the socket with a reason."""
        assert self.entry is not None
        try:
            await asyncio.wait_for(
                get_channel_layer().send(self.entry.channel, message), settings.timeout()
            )
        except Exception as exc:
            metrics.layer_error("send")
            logger.warning("Socket %s: send to worker failed: %s", self.scope["path"], exc)
            await self._lost(
                CLOSE_MESSAGE_LOST,
                f"A message to the kernel could not be sent ({type(exc).__name__})",
            )
            return False
        return True

    async def _watch(self) -> None:
        """Refresh the session and its limit slot; end the socket if the worker dies."""
        assert self.entry is not None
        started = time.monotonic()
        while not self.ended:
            await asyncio.sleep(settings.heartbeat())
            if not self.accepted and time.monotonic() - started > settings.timeout():
                await self._lost(CLOSE_NO_ANSWER, "The notebook's worker did not answer")
                return
            try:
                alive = await state.worker(self.entry.worker)
                if alive is not None and not same_process(alive, self.entry):
                    alive = None  # restarted under its name: the kernel died with the old one
                await state.refresh(self.entry, self._entry_ttl())
                await state.hold(self.limit_key, self.entry.session_id, None, _limit_seconds())
                await self.keeper.keep()
            except state.ClusterUnavailable as exc:
                logger.warning("Socket %s: %s", self.scope["path"], exc)
                self.outage = True
                continue  # the kernel may well be fine; keep the socket until Redis is back
            if self.outage and alive is None:
                # A restart empties Redis: the worker may not have beaten again
                # yet. Closing now would send the reconnect to another worker
                # (a fresh kernel); wait up to one expiry for it.
                self.outage_over = self.outage_over or time.monotonic()
                if time.monotonic() - self.outage_over < settings.expiry():
                    continue
            if self.outage and alive is not None:
                # The pub/sub layer drops what is published while a subscriber
                # reconnects, and a restart empties the core layer's queues: a
                # frame lost last leaves no gap to notice. Reconnecting resumes.
                await self._lost(
                    CLOSE_MESSAGE_LOST,
                    "Redis was unreachable, so messages between this page and its kernel "
                    "may have been lost; reconnecting resumes the session",
                )
                return
            if alive is None:
                with contextlib.suppress(state.ClusterUnavailable):
                    await state.forget(self.entry.session_id)
                await self._lost(
                    CLOSE_WORKER_LOST,
                    f"The worker running this notebook ({self.entry.worker}) stopped; "
                    + replay_store.lost_worker_next(),
                )
                return
            await self._to_worker({"type": WS_PING, "stream": self.stream})

    async def _lost(self, code: int, reason: str) -> None:
        """Tell the page why, then close its socket so marimo reconnects."""
        if self.ended:
            return
        logger.warning("Closing websocket %s: %s", self.scope["path"], reason)
        with contextlib.suppress(Exception):
            if self.accepted:
                await self._send_op(protocol.OP_BANNER, title="Connection lost", description=reason)
            else:
                await self.send({"type": "websocket.accept"})
                await self._send_op(protocol.OP_STARTUP_ERROR, error=reason)
        await self._close_browser(code, reason)

    async def _close_browser(self, code: int, reason: str = "") -> None:
        self.ended = True
        with contextlib.suppress(Exception):
            await self.send(closecodes.close_message(code, reason))

    async def notebook_host_ws_out(self, message: dict[str, Any]) -> None:
        """A frame from the worker's marimo app, checked for gaps and joined."""
        if message.get("stream") != self.stream or self.ended:
            return  # a previous socket's leftovers
        if message.get("event") == BATCH:  # frames that queued up on the worker
            for frame in message.get("frames") or []:
                await self.notebook_host_ws_out(frame)
            return
        if message.get("seq") == -1:  # the worker does not know this socket any more
            await self._lost(CLOSE_MESSAGE_LOST, str(message.get("reason")))
            return
        try:
            whole = self.incoming.accept(message, "text")
        except SequenceGap as exc:
            metrics.layer_gap("front")
            reason = f"A message from the kernel was lost ({exc}); the session restarts"
            if self.entry is not None:
                await self._to_worker({"type": CLOSE_SESSION, "session_id": self.entry.session_id})
            await self._lost(CLOSE_MESSAGE_LOST, reason)
            return
        if whole is None:
            return
        event = whole.get("event")
        if event == "accept":
            self.accepted = True
            await self.send({"type": "websocket.accept"})
        elif event == "send":
            await self.send({"type": "websocket.send", "text": whole.get("text") or ""})
        elif event == "close":
            if not self.accepted:
                await self._lost(int(whole.get("code") or 1011), str(whole.get("reason") or ""))
            else:
                await self._close_browser(int(whole.get("code") or 1000), whole.get("reason", ""))

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        session_rows.touch(self.live_id)
        if not self.stream or self.ended:
            return
        text = message.get("text")
        if text is None:
            logger.info("Closing websocket %s: binary frame", self.scope["path"])
            await self.end(code=1003)
            return
        base = {"type": WS_IN, "stream": self.stream, "front": self.channel_name}
        for frame in self.outgoing.messages({**base, "event": "receive"}, "text", text):
            if not await self._to_worker(frame):
                return

    async def end(self, code: int) -> None:
        """Close the browser socket; staff closes also end the kernel."""
        await session_rows.closed(self.live_id, self)
        await self._close_browser(code)
        await self._leave(close_kernel=code == session_rows.CLOSED_BY_STAFF)

    async def _leave(self, *, close_kernel: bool) -> None:
        """Tell the worker the browser left (marimo keeps the kernel for its TTL)."""
        if self.entry is None or not self.stream:
            return
        entry, stream, self.stream = self.entry, self.stream, ""
        frame = self.outgoing.message(
            {
                "type": WS_IN,
                "stream": stream,
                "front": self.channel_name,
                "event": "disconnect",
                "code": closecodes.GOING_AWAY,
            }
        )
        layer = get_channel_layer()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(layer.send(entry.channel, frame), 2.0)
            if close_kernel:
                close = {"type": CLOSE_SESSION, "session_id": entry.session_id}
                await asyncio.wait_for(layer.send(entry.channel, close), 2.0)
        with contextlib.suppress(state.ClusterUnavailable):
            await state.release(self.limit_key, entry.session_id)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await session_rows.closed(self.live_id, self)
        if self.waiting is not None:
            self.waiting.cancel()
        if self.watchdog is not None:
            self.watchdog.cancel()
        self.ended = True
        await self._leave(close_kernel=False)
        raise StopConsumer()
