"""What fronts and workers say to each other over the channel layer.

Every message is a dict with a ``type`` (Channels dispatches on it). Messages
of one socket or one HTTP exchange carry a ``seq`` counted from 0 in each
direction, so a message the layer lost or dropped (the pub/sub layer delivers
at most once, the core layer drops the oldest over its capacity) is noticed
at the next one instead of leaving a silently wrong page. Payloads over
:data:`CHUNK` are split into pieces (``more`` is true on all but the last),
because the channel layer spec caps a message at 1 MB.

Messages carry no Django session cookie: the front strips it from the
headers before a scope leaves the process (userinfo.visible_headers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import closecodes

#: Front -> worker (the worker's channel).
HTTP = "notebook_host.http"
WS_CONNECT = "notebook_host.ws.connect"
WS_IN = "notebook_host.ws.in"
CLOSE_SESSION = "notebook_host.session.close"
#: A socket's front says it still holds the browser (unnumbered, every heartbeat):
#: a worker ends a pump that hears nothing for PUMP_SILENCE heartbeats (at least
#: three expiry periods: a loop busy starting kernels reads its pings late).
WS_PING = "notebook_host.ws.ping"
PUMP_SILENCE = 5
#: Worker -> front (a consumer's channel, or the front's mailbox).
WS_OUT = "notebook_host.ws.out"
#: The ``event`` of a WS_OUT carrying several numbered frames in ``frames``.
BATCH = "batch"
#: The ``event`` of an HTTP_REPLY holding status, headers and the whole body.
WHOLE = "whole"
HTTP_REPLY = "notebook_host.http.reply"

#: Largest payload piece in one message (the spec's cap is 1 MB).
CHUNK = 512 * 1024

#: Close codes a front sends to the browser (defined in notebook_host.closecodes).
CLOSE_WORKER_LOST = closecodes.WORKER_LOST
CLOSE_MESSAGE_LOST = closecodes.MESSAGE_LOST
CLOSE_NO_ANSWER = closecodes.NO_ANSWER
CLOSE_DRAINED = closecodes.DRAINED

#: ASGI scope keys that travel to a worker; ``state`` and the like stay.
SCOPE_KEYS = (
    "type",
    "asgi",
    "http_version",
    "method",
    "scheme",
    "path",
    "raw_path",
    "root_path",
    "query_string",
    "headers",
    "client",
    "server",
    "subprotocols",
    "user",
    "meta",
    "path_params",
)


class SequenceGap(Exception):
    """A message of a stream is missing: the layer lost or dropped it."""


def wire_scope(scope: dict[str, Any], page_key: str) -> dict[str, Any]:
    """The serialisable part of an ASGI scope for a worker."""
    wired = {key: scope[key] for key in SCOPE_KEYS if key in scope}
    wired["headers"] = [[bytes(k), bytes(v)] for k, v in scope.get("headers", ())]
    if page_key in scope:
        wired[page_key] = dict(scope[page_key])
    return wired


def asgi_scope(wired: dict[str, Any]) -> dict[str, Any]:
    """Back from the wire: tuples where ASGI servers give tuples, a fresh state."""
    scope = dict(wired)
    scope["headers"] = [(bytes(k), bytes(v)) for k, v in wired.get("headers", ())]
    for key in ("client", "server"):
        if scope.get(key) is not None:
            scope[key] = tuple(scope[key])
    scope["state"] = {}
    return scope


def pieces(data: str | bytes) -> list[str | bytes]:
    """``data`` cut into pieces of at most CHUNK characters (at least one)."""
    if len(data) <= CHUNK:
        return [data]
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


@dataclass
class Outgoing:
    """The sending side of one stream: numbers its messages, splits payloads."""

    seq: int = 0

    def messages(self, base: dict[str, Any], key: str, data: str | bytes) -> list[dict[str, Any]]:
        """``base`` with ``data`` under ``key``, as numbered pieces."""
        parts = pieces(data)
        out = []
        for index, part in enumerate(parts):
            out.append({**base, key: part, "seq": self.seq, "more": index < len(parts) - 1})
            self.seq += 1
        return out

    def message(self, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` numbered, for messages without a payload."""
        message = {**base, "seq": self.seq, "more": False}
        self.seq += 1
        return message


@dataclass
class Incoming:
    """The receiving side of one stream: checks the numbers, joins pieces."""

    expected: int = 0
    _parts: list[Any] = field(default_factory=list)

    def check(self, message: dict[str, Any]) -> None:
        """Raise SequenceGap unless ``message`` is the next one of the stream."""
        seq = message.get("seq")
        if seq != self.expected:
            raise SequenceGap(f"expected message {self.expected}, got {seq}")
        self.expected += 1

    def accept(self, message: dict[str, Any], key: str) -> dict[str, Any] | None:
        """The whole message once its last piece came; None while pieces are missing.

        Raises SequenceGap when a message was skipped.
        """
        self.check(message)
        data = message.get(key)
        if message.get("more"):
            self._parts.append(data)
            return None
        if self._parts:
            self._parts.append(data)
            joined = self._parts[0][:0].join(self._parts)
            self._parts = []
            return {**message, key: joined}
        return message


#: The only headers of a worker's answer a front passes on (lower case): what a
#: download or an API answer needs. Cookies and anything else a notebook or
#: marimo could set are dropped, so a worker cannot speak for the site.
REPLY_HEADERS: frozenset[bytes] = frozenset(
    {
        b"content-type",
        b"content-disposition",
        b"content-length",
        b"content-encoding",
        b"content-range",
        b"accept-ranges",
        b"cache-control",
        b"etag",
        b"last-modified",
        b"expires",
        b"vary",
    }
)


def reply_headers(raw: list[Any]) -> list[tuple[bytes, bytes]]:
    """A worker's answer headers, only those in :data:`REPLY_HEADERS`."""
    kept = []
    for name, value in raw:
        name_b, value_b = bytes(name), bytes(value)
        if name_b.lower() in REPLY_HEADERS:
            kept.append((name_b, value_b))
    return kept
