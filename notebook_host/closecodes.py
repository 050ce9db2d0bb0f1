"""Every websocket close code notebook_host sends, and the one rule for sending them.

autobahn (daphne's websocket library) only sends 1000 and 3000-4999; asked
for another code it raises, the error is swallowed by daphne, and the socket
stays open with no kernel behind it. So the standard codes notebook_host or
marimo use (1001, 1003, 1008, 1011) reach the browser as
``BROWSER_OFFSET + code - 1000`` (1001 -> 4101), and :func:`for_browser`
is applied to every close message before it is sent.
"""

from __future__ import annotations

from typing import Any

#: Normal closure: the only standard code autobahn sends as it is.
NORMAL = 1000
#: Standard codes, as marimo or notebook_host mean them (mapped before sending).
GOING_AWAY = 1001  # the server shuts down
UNSUPPORTED_DATA = 1003  # a binary frame on marimo's text-only socket
POLICY = 1008  # marimo refuses the socket (e.g. ``?kiosk=true`` in run mode)
INTERNAL_ERROR = 1011  # the kernel socket failed

#: Where the standard codes land in the application range (1001 -> 4101).
BROWSER_OFFSET = 4100

#: Application codes (4000-4999), each a reason a page or client can act on.
CLOSED_BY_STAFF = 4001  # closed from the admin or notebook_sessions
REFUSED = 4004  # not found, no access, not the owner, or a malformed socket URL
SIGNED_OUT = 4010  # the owner signed out: their kernels end
INVALID_PARAMS = 4400  # the page's query parameters fail the notebook's params=
WORKER_LOST = 4510  # the worker running the kernel stopped
MESSAGE_LOST = 4511  # a frame was lost between front and worker (or Redis was down)
NO_ANSWER = 4512  # the worker did not answer in time
DRAINED = 4513  # the worker is shutting down or full


def for_browser(code: Any) -> int:
    """The code to send for ``code``: standard codes autobahn refuses are mapped."""
    value = int(code) if code is not None else NORMAL
    if value == NORMAL or 3000 <= value <= 4999:
        return value
    if 1000 < value < 2000:
        return BROWSER_OFFSET + value - NORMAL
    return BROWSER_OFFSET + INTERNAL_ERROR - NORMAL


def close_message(code: Any, reason: str = "") -> dict[str, Any]:
    """An ASGI ``websocket.close`` with a code autobahn will send."""
    message: dict[str, Any] = {"type": "websocket.close", "code": for_browser(code)}
    if reason:
        message["reason"] = reason[:120]  # a close frame's payload is at most 125 bytes
    return message
