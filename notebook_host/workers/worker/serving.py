"""The worker's HTTP serving: a forwarded request's pieces joined, answered by its app."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ...marimo import files
from ...marimo.app import MarimoApp
from ...metrics import record as metrics
from ..protocol import CHUNK, HTTP_REPLY, WHOLE, Incoming, Outgoing, SequenceGap, asgi_scope
from .kernels import Kernels

logger = logging.getLogger(__name__)


class HttpServing(Kernels):
    """Forwarded API calls and downloads, answered in one message or numbered pieces."""

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
            self.spawn(self._reply_error(first, 502, f"A piece of the request was lost ({exc})"))
            return
        body.append(bytes(message.get("body") or b""))
        if message.get("more"):
            self.requests[rid] = (incoming, first, body)
            return
        self.requests.pop(rid, None)
        self.spawn(self._http(first, b"".join(body)))

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
