"""The ASGI lifespan, for servers that run one (uvicorn; daphne runs none).

Startup needs nothing: the application is built ready. Shutdown closes every
kernel session through :mod:`notebook_host.runtime.shutdown`, the steps
daphne's "before shutdown" trigger awaits, so sessions end the same way under
any server.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..runtime import shutdown

Message = MutableMapping[str, Any]


async def lifespan(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Answer startup at once; on shutdown, close the sessions, then say done."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await shutdown.close_everything(finish_pending=False)
            await send({"type": "lifespan.shutdown.complete"})
            return
