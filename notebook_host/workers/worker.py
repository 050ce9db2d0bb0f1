"""The worker process: marimo apps and kernels, driven through the channel layer.

A worker listens on one channel of the layer (announced in its heartbeat) and
does only what fronts ask there: answer a forwarded HTTP request, run a
kernel socket (a pump of numbered frames between the front's consumer and
marimo's Starlette app, fed the scope the front admitted), close a session.
It decides nothing about access: fronts do, before anything is forwarded.

SIGTERM (or SIGINT) drains: the heartbeat says "draining" so fronts place
no new session here; open sockets keep working until they close or
``drain_timeout`` passes, then they are ended with a message, and the
process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from channels.layers import get_channel_layer

from .. import closecodes
from ..admission.pipeline import locate_path
from ..marimo import files
from ..marimo.app import MarimoApp
from ..marimo.patches import initialise
from ..metrics import record as metrics
from ..runtime.notebook_apps import apps
from . import settings, state
from .alive import Alive
from .protocol import (
    BATCH,
    CHUNK,
    CLOSE_DRAINED,
    CLOSE_MESSAGE_LOST,
    CLOSE_SESSION,
    HTTP,
    HTTP_REPLY,
    PUMP_SILENCE,
    WHOLE,
    WS_CONNECT,
    WS_IN,
    WS_OUT,
    WS_PING,
    Incoming,
    Outgoing,
    SequenceGap,
    asgi_scope,
)

logger = logging.getLogger(__name__)

#: Frames a socket may queue for its front before marimo's sends wait.
OUTBOX_FRAMES = 64


def _size(frame: dict[str, Any]) -> int:
    return len(frame.get("text") or "")


class Pump:
    """One browser socket's kernel websocket, run on this worker."""

    def __init__(self, worker: Worker, stream: str, session_id: str, front: str) -> None:
        self.worker = worker
        self.stream = stream
        self.session_id = session_id
        self.front = front
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.incoming = Incoming()
        self.outgoing = Outgoing()
        self.task: asyncio.Task[None] | None = None
        #: Numbered frames not yet sent to the front, and the task sending them.
        self.outbox: list[dict[str, Any]] = []
        self.flusher: asyncio.Task[None] | None = None
        self.closed = False
        self.started = time.monotonic()
        #: When the front last spoke for this socket (a frame or a ping).
        self.heard = self.started

    async def run(self, app: MarimoApp, scope: dict[str, Any]) -> None:
        self.queue.put_nowait({"type": "websocket.connect"})
        try:
            await app(scope, self.queue.get, self.to_front)
        except Exception:
            logger.exception("Kernel socket %s failed", scope.get("path"))
            await self.close(1011, "The kernel socket failed on the worker")

    def feed(self, message: dict[str, Any]) -> None:
        """A frame from the front; a missing one ends the socket with a reason."""
        self.heard = time.monotonic()
        try:
            whole = self.incoming.accept(message, "text")
        except SequenceGap as exc:
            metrics.layer_gap("worker")
            logger.warning("Socket %s lost a message from its front: %s", self.stream, exc)
            self.worker._spawn(self.fault(f"A message to the kernel was lost ({exc})"))
            return
        if whole is None:
            return
        if whole.get("event") == "receive":
            self.queue.put_nowait({"type": "websocket.receive", "text": whole.get("text") or ""})
        else:
            self.disconnect(int(whole.get("code") or 1000))

    def disconnect(self, code: int = 1000) -> None:
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code})

    async def to_front(self, message: dict[str, Any]) -> None:
        """marimo's ``send``: ASGI websocket messages become numbered WS_OUT frames."""
        if self.closed:
            return
        base = {"type": WS_OUT, "stream": self.stream}
        kind = message["type"]
        if kind == "websocket.accept":
            frames = [self.outgoing.message({**base, "event": "accept"})]
        elif kind == "websocket.send":
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            metrics.frame_out(self.session_id, text)
            frames = self.outgoing.messages({**base, "event": "send"}, "text", text)
        elif kind == "websocket.close":
            self.closed = True
            code = int(message.get("code") or 1000)
            frames = [
                self.outgoing.message(
                    {**base, "event": "close", "code": code, "reason": message.get("reason") or ""}
                )
            ]
        else:
            return
        self.outbox.extend(frames)
        if self.flusher is None or self.flusher.done():
            self.flusher = asyncio.create_task(self._flush())
        if len(self.outbox) > OUTBOX_FRAMES:
            await self.sent()  # the front is slow: marimo waits (bounded memory)

    async def sent(self) -> None:
        """Wait until every frame handed to :meth:`to_front` went out (or failed)."""
        if self.flusher is not None:
            await asyncio.shield(self.flusher)

    async def _flush(self) -> None:
        """Send the outbox, many frames per message when they queue up.

        One layer message per frame costs a Redis round trip on a loop that
        shares its GIL with every kernel of this worker; under load frames
        wait here and go out together, numbered one by one as before.
        """
        while self.outbox:
            batch: list[dict[str, Any]] = []
            size = 0
            while self.outbox and (not batch or size + _size(self.outbox[0]) <= CHUNK):
                frame = self.outbox.pop(0)
                batch.append(frame)
                size += _size(frame)
            message = batch[0]
            if len(batch) > 1:
                message = {"type": WS_OUT, "stream": self.stream, "event": BATCH, "frames": batch}
            if not await self.worker.send(self.front, message):
                self.outbox.clear()
                await self._send_failed()
                return

    async def _send_failed(self) -> None:
        """A frame did not go out (layer full, Redis down): end the socket.

        The front learns it from the gap in the numbers of the close frame
        sent after it; tried for about 30 s, then given up.
        """
        self.closed = True
        self.disconnect(1011)
        close = self.outgoing.message(
            {
                "type": WS_OUT,
                "stream": self.stream,
                "event": "close",
                "code": CLOSE_MESSAGE_LOST,
                "reason": "A message from the kernel could not be sent",
            }
        )
        for delay in (0.2, 1.0, 2.0, 4.0, 8.0, 15.0):  # Redis may be restarting
            await asyncio.sleep(delay)
            if await self.worker.send(self.front, close):
                return

    async def close(self, code: int, reason: str) -> None:
        """End the browser socket with a reason and let marimo see it go."""
        if not self.closed:
            await self.to_front({"type": "websocket.close", "code": code, "reason": reason})
            await self.sent()
        self.closed = True
        self.disconnect(code)

    async def fault(self, reason: str) -> None:
        """A frame was lost: the page cannot be trusted, so the session restarts."""
        await self.close(CLOSE_MESSAGE_LOST, f"{reason}; the session restarts")
        self.worker.close_kernel(self.session_id)


class Worker:
    """A ``manage.py notebook_worker`` process (see the module docstring)."""

    #: Liveness signals for a supervisor (``notebook_worker --alive-file``, systemd).
    alive = Alive()

    def __init__(self, name: str, capacity: int, drain_timeout: float) -> None:
        self.name = name
        self.capacity = capacity
        self.drain_timeout = drain_timeout
        self.channel = ""
        self.layer: Any = None
        self.draining = False
        self.stopping = asyncio.Event()
        self.pumps: dict[str, Pump] = {}
        #: session id -> the app holding its kernel (it may be retired by an edit).
        self.kernels: dict[str, MarimoApp] = {}
        self.requests: dict[str, tuple[Incoming, dict[str, Any], list[bytes]]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        #: Sessions started (or refused) since the last beat: their placement is still reserved.
        self.uncounted: set[str] = set()
        #: Sessions admitted whose app is still being loaded: they count, and are not idle.
        self.starting: set[str] = set()
        #: The loop's latest count for the heartbeat thread: (info, made at, placements it has).
        self._latest: tuple[state.WorkerInfo, float, frozenset[str]] | None = None
        self._beat_lock = threading.Lock()
        self._beats_stop = threading.Event()

    # -- process ------------------------------------------------------------

    async def run(self) -> int:
        initialise()
        self.layer = get_channel_layer()
        if self.layer is None:
            raise RuntimeError("notebook_worker needs CHANNEL_LAYERS (channels_redis)")
        self.channel = await self.layer.new_channel()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        receiving = asyncio.create_task(self._receive_forever())
        with contextlib.suppress(state.ClusterUnavailable):
            await self.beat()  # announced before it says it is ready
        beating = asyncio.create_task(self._beat_forever())
        logger.info(
            "Worker %s ready on %s (capacity %d, pid %d)",
            self.name,
            self.channel,
            self.capacity,
            os.getpid(),
        )
        self.alive.ready()
        await self.stopping.wait()
        await self._drain()
        receiving.cancel()
        beating.cancel()
        self._beats_stop.set()  # no beat may follow the leave below
        with contextlib.suppress(state.ClusterUnavailable):
            await state.leave(self.name)
        await apps.shutdown(3.0)
        self.alive.stopped()
        logger.info("Worker %s stopped", self.name)
        return 0

    async def _drain(self) -> None:
        self.draining = True
        self.alive.stopping()
        logger.info(
            "Worker %s draining: %d open socket(s), up to %.0f s",
            self.name,
            len(self.pumps),
            self.drain_timeout,
        )
        with contextlib.suppress(state.ClusterUnavailable):
            await self.beat()  # fronts stop placing sessions here now
        deadline = time.monotonic() + self.drain_timeout
        while time.monotonic() < deadline:
            self._forget_silent_pumps()
            if not self.pumps:
                break
            await asyncio.sleep(0.2)
        reason = "This notebook's worker is shutting down; reconnecting starts a fresh kernel"
        for pump in list(self.pumps.values()):
            await pump.close(CLOSE_DRAINED, reason)
            with contextlib.suppress(state.ClusterUnavailable):
                await state.forget(pump.session_id)
        tasks = [p.task for p in self.pumps.values() if p.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=3.0)

    def info(self) -> state.WorkerInfo:
        return state.WorkerInfo(
            name=self.name,
            channel=self.channel,
            sessions=self.session_count(),
            idle=self.idle_count(),
            capacity=self.capacity,
            host=socket.gethostname(),
            pid=os.getpid(),
            draining=self.draining,
        )

    def _snapshot(self) -> tuple[state.WorkerInfo, frozenset[str]]:
        """This worker's count, and the placements it includes, taken together.

        A reservation may only be dropped by a beat whose count has its
        session: sending a count made earlier with a later list of sessions
        let a worker look empty, and two placements both land on it.
        """
        with self._beat_lock:
            info = self.info()
            covered = frozenset(self.uncounted)
            self._latest = (info, time.monotonic(), covered)
        return info, covered

    def _counted(self, covered: frozenset[str]) -> None:
        with self._beat_lock:
            self.uncounted -= covered

    async def beat(self) -> None:
        """One heartbeat now, from the loop (the drain announces itself at once)."""
        info, covered = self._snapshot()
        await state.beat(info, settings.expiry(), sorted(covered))
        self._counted(covered)

    async def _beat_forever(self) -> None:
        """Count kernels on the loop; a thread sends the beats (see :meth:`_beat_thread`)."""
        beats = threading.Thread(target=self._beat_thread, name="heartbeat", daemon=True)
        beats.start()
        try:
            while True:
                self._forget_silent_pumps()
                self._prune_kernels()
                self._snapshot()
                metrics.worker_state(
                    self.name, self.capacity, self._connected(), self._session_ids(), self.draining
                )
                await asyncio.sleep(settings.heartbeat())
        finally:
            self._beats_stop.set()

    def _beat_thread(self) -> None:
        """Send the heartbeat from a thread, so a loop busy starting 100 kernels is not dead.

        The count comes from the loop (:meth:`_snapshot`); a loop silent for
        three expiry periods is stuck, and a stuck worker stops beating.
        """
        while not self._beats_stop.wait(settings.heartbeat()):
            self._beat_latest()

    def _beat_latest(self) -> None:
        """One beat of the thread: the loop's latest count, if the loop is not stuck."""
        with self._beat_lock:
            latest = self._latest
        if latest is None or time.monotonic() - latest[1] > 3 * settings.expiry():
            return
        info, _, covered = latest
        self.alive.beat()
        try:
            state.beat_sync(info, settings.expiry(), sorted(covered))
        except state.ClusterUnavailable as exc:
            logger.warning("Heartbeat failed: %s", exc)
            return
        self._counted(covered)

    def _connected(self) -> set[str]:
        return {p.session_id for p in self.pumps.values()}

    def is_alive(self) -> bool:
        """True while the loop counts kernels each heartbeat (``--metrics-port``'s /live)."""
        with self._beat_lock:
            latest = self._latest
        return latest is not None and time.monotonic() - latest[1] <= 3 * settings.expiry()

    def _session_ids(self) -> set[str]:
        ids = self.kernels.keys() | self.starting
        for app in apps.loaded():
            ids.update(app.session_ids())
        return ids

    def session_count(self) -> int:
        """Kernels alive here: connected, or waiting out their TTL for a reconnect.

        Sessions whose socket arrived count at once, before marimo made them.
        """
        return len(self._session_ids())

    def idle_count(self) -> int:
        """Kernels with no socket here: closed first when a new one needs room.

        Exactly those :meth:`_make_room` may close, so that the room a heartbeat
        announces (``capacity - sessions + idle``, what fronts place against)
        is the room a WS_CONNECT finds.
        """
        return len(self._idle_ids())

    def _idle_ids(self) -> list[str]:
        connected = {p.session_id for p in self.pumps.values()} | self.starting
        return [sid for sid in self.kernels if sid not in connected]

    def _silent(self, pump: Pump) -> bool:
        silence = max(PUMP_SILENCE * settings.heartbeat(), 3 * settings.expiry())
        return time.monotonic() - pump.heard > silence

    def _forget_silent_pumps(self) -> None:
        """A pump whose front went quiet lost its browser (front killed, disconnect lost).

        marimo is told the socket went, so it keeps the kernel for its TTL (a
        reconnect through any front resumes it) instead of holding it forever.
        """
        for pump in [p for p in self.pumps.values() if self._silent(p)]:
            logger.warning("Socket %s: its front went silent; disconnecting", pump.stream)
            pump.closed = True
            pump.disconnect(1001)
            del self.pumps[pump.stream]

    def _prune_kernels(self) -> None:
        """Forget kernels marimo closed (TTL); a socket's own, maybe still starting, stay."""
        connected = {p.session_id for p in self.pumps.values()}
        for session_id, app in list(self.kernels.items()):
            if session_id not in connected and not app.has_session(session_id):
                del self.kernels[session_id]

    def close_kernel(self, session_id: str) -> None:
        app = self.kernels.pop(session_id, None)
        if app is not None and app.has_session(session_id):
            app.close_session(session_id)

    async def send(self, channel: str, message: dict[str, Any]) -> bool:
        """Send on the layer; False when it failed (full, Redis down, too slow)."""
        try:
            await asyncio.wait_for(self.layer.send(channel, message), settings.timeout())
        except Exception as exc:
            metrics.layer_error("send")
            logger.warning("Could not send to %s: %s: %s", channel, type(exc).__name__, exc)
            return False
        return True

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down: retry, bounded
                metrics.layer_error("receive")
                logger.warning("Receiving failed (%s: %s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(0.5)
                continue
            try:
                self._dispatch(message)
            except Exception:
                logger.exception("Could not handle a %s message", message.get("type"))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == WS_PING:
            pump = self.pumps.get(message.get("stream", ""))
            if pump is not None:
                pump.heard = time.monotonic()
        elif kind == WS_IN:
            pump = self.pumps.get(message.get("stream", ""))
            if pump is not None:
                pump.feed(message)
            elif message.get("event") == "receive" and message.get("front"):
                self._spawn(self._unknown_stream(message))
        elif kind == WS_CONNECT:
            self._spawn(self._connect(message))
        elif kind == HTTP:
            self._http_piece(message)
        elif kind == CLOSE_SESSION:
            pump = next(
                (p for p in self.pumps.values() if p.session_id == message["session_id"]), None
            )
            if pump is not None:
                self._spawn(pump.close(int(message.get("code") or 1000), "Closed"))
            self.close_kernel(message["session_id"])
        else:
            logger.warning("Ignored a message of unknown type %r", kind)

    async def _unknown_stream(self, message: dict[str, Any]) -> None:
        """A frame for a socket this worker does not run (it restarted): say so."""
        await self.send(
            message["front"],
            {
                "type": WS_OUT,
                "stream": message["stream"],
                "seq": -1,
                "event": "close",
                "code": CLOSE_MESSAGE_LOST,
                "reason": "The kernel of this socket is gone from its worker",
            },
        )

    # -- notebooks ------------------------------------------------------------

    async def _app(self, route: dict[str, str], session_id: str | None) -> MarimoApp | None:
        """The app for a route: the one holding ``session_id``, else the current one."""
        if session_id:
            held = self.kernels.get(session_id)
            if held is not None and held.has_session(session_id):
                held.touch()
                return held
        found = await locate_path(route["path"], route.get("root_path", ""))
        if found is None or found.notebook is None:
            return None
        notebook, subpath = found.notebook, found.subpath or ""
        path = route["path"]
        prefix = path[: len(path) - len(subpath)].rstrip("/") if subpath else path.rstrip("/")
        return apps.get(notebook, base_url=prefix)

    # -- sockets --------------------------------------------------------------

    async def _connect(self, message: dict[str, Any]) -> None:
        stream, front, session_id = message["stream"], message["front"], message["session_id"]
        pump = Pump(self, stream, session_id, front)
        held = self.kernels.get(session_id)
        resuming = held is not None and held.has_session(session_id)
        with self._beat_lock:  # the next beat drops its reservation, in or out
            self.uncounted.add(session_id)
        if self.draining:
            metrics.session_refused("worker_draining")
            await pump.close(CLOSE_DRAINED, "This worker is shutting down")
            return
        if not resuming and not self._make_room():
            metrics.session_refused("worker_full")
            await pump.close(CLOSE_DRAINED, f"Worker {self.name} is full")
            return
        self.starting.add(session_id)  # counted while its app loads (a connect may follow)
        try:
            app = await self._app(message["route"], session_id)
        except files.NotebookLoadError as exc:
            logger.error("Socket %s: %s", message["route"].get("path"), exc)
            app = None
        finally:
            self.starting.discard(session_id)
        if app is None:
            await pump.close(closecodes.REFUSED, "No notebook at this address")
            return
        for old in [p for p in self.pumps.values() if p.session_id == session_id]:
            old.closed = True  # its front is gone or moved on; marimo drops it too
            old.disconnect(1001)
        self.pumps[stream] = pump
        self.kernels[session_id] = app
        metrics.socket_opened(session_id, message["route"]["path"])
        pump.task = asyncio.create_task(pump.run(app, asgi_scope(message["scope"])))
        pump.task.add_done_callback(lambda _: self._pump_done(pump))

    def _pump_done(self, pump: Pump) -> None:
        if self.pumps.get(pump.stream) is pump:
            del self.pumps[pump.stream]

    def _make_room(self) -> bool:
        """True when a new kernel fits, closing disconnected ones first if needed."""
        self._prune_kernels()
        idle = self._idle_ids()
        while self.session_count() >= self.capacity and idle:
            sid = idle.pop(0)
            logger.info("Closing disconnected session %s to make room", sid)
            self.close_kernel(sid)
        return self.session_count() < self.capacity

    # -- HTTP -----------------------------------------------------------------

    def _http_piece(self, message: dict[str, Any]) -> None:
        """Collect a request's body pieces; run it when the last one came."""
        rid = message["rid"]
        incoming, first, body = self.requests.get(rid) or (Incoming(), message, [])
        try:
            incoming.check(message)
        except SequenceGap as exc:
            metrics.layer_gap("worker")
            self.requests.pop(rid, None)
            logger.warning("Request %s lost a piece: %s", rid, exc)
            self._spawn(self._reply_error(first, 502, f"A piece of the request was lost ({exc})"))
            return
        body.append(bytes(message.get("body") or b""))
        if message.get("more"):
            self.requests[rid] = (incoming, first, body)
            return
        self.requests.pop(rid, None)
        self._spawn(self._http(first, b"".join(body)))

    async def _reply_error(self, request: dict[str, Any], status: int, detail: str) -> None:
        await self.send(
            request["reply"],
            {
                "type": HTTP_REPLY,
                "rid": request["rid"],
                "seq": 0,
                "event": "error",
                "status": status,
                "detail": detail,
            },
        )

    async def _http(self, request: dict[str, Any], body: bytes) -> None:
        session_id = request.get("session_id")
        candidates = request.get("candidates")
        app: MarimoApp | None
        if candidates:  # a download: the session whose kernel made the file
            app = None
            for sid in candidates:
                held = self.kernels.get(sid)
                if held is not None and held.session_of_kernel_thread(request["thread"]) == sid:
                    app = held
                    break
        else:
            try:
                app = await self._app(request["route"], session_id)
            except files.NotebookLoadError as exc:
                await self._reply_error(request, 500, str(exc))
                return
        if app is None or (session_id and not app.has_session(session_id)):
            await self._reply_error(request, 404, "Unknown or expired session")
            return
        metrics.change_posted(session_id, request["route"]["path"])
        out = Outgoing()
        base = {"type": HTTP_REPLY, "rid": request["rid"]}
        done = asyncio.Event()
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        start: dict[str, Any] | None = None

        async def send(message: dict[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = {
                    **base,
                    "event": "start",
                    "status": int(message["status"]),
                    "headers": [[bytes(k), bytes(v)] for k, v in message.get("headers", [])],
                }
            elif message["type"] == "http.response.body":
                data = bytes(message.get("body") or b"")
                last = not message.get("more_body", False)
                if start is not None and last and len(data) <= CHUNK:
                    # The usual API answer: status, headers and body in one message.
                    whole, start = {**start, "event": WHOLE, "body": data}, None
                    await self.send(request["reply"], out.message(whole))
                    done.set()
                    return
                if start is not None:
                    await self.send(request["reply"], out.message(start))
                    start = None
                frames = out.messages({**base, "event": "body"}, "body", data)
                for index, frame in enumerate(frames):
                    frame["end"] = last and index == len(frames) - 1
                    await self.send(request["reply"], frame)
                if last:
                    done.set()

        try:
            await app(asgi_scope(request["scope"]), receive, send)
        except Exception as exc:
            logger.exception("Forwarded %s failed", request["scope"].get("path"))
            if out.seq == 0:
                await self._reply_error(request, 500, f"The notebook failed: {exc}")
        finally:
            done.set()
