"""channels_redis' core layer, except that a cancelled receive loses no message.

All the channels of one process share one Redis list, and one receiver at a
time pops it for all of them (BZPOPMIN, then a backup copy). Channels cancels
a consumer's receive when its socket closes; if that receiver was the one
popping, the message it popped, meant for another socket of the process, is
dropped (django/channels_redis#366). A frame lost last leaves no gap to
notice: the other page waits for an output that never comes.

Here the pop runs as its own task. A receiver cancelled mid-pop waits for it
(at most the layer's ``brpop_timeout``) and puts what it got in its
addressee's buffer before the cancellation goes on, while still holding the
receive lock, so the next receiver finds it there.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextvars import ContextVar
from typing import Any

from channels_redis.core import RedisChannelLayer

#: The process channel the current task is receiving on (a message for it is
#: dropped on cancellation, as channels_redis does: its consumer is going away).
_receiving: ContextVar[str | None] = ContextVar("notebook_host_receiving", default=None)

Popped = tuple[Any, dict[str, Any]]


class CoreChannelLayer(RedisChannelLayer):
    """``channels_redis.core.RedisChannelLayer`` whose process channels survive cancellation."""

    async def receive(self, channel: str) -> dict[str, Any]:
        token = _receiving.set(channel)
        try:
            message: dict[str, Any] = await super().receive(channel)
            return message
        finally:
            _receiving.reset(token)

    async def receive_single(self, channel: str) -> Popped:
        if "!" not in channel:  # a shared channel: nobody else's messages at stake
            shared: Popped = await super().receive_single(channel)
            return shared
        while True:
            attempt = asyncio.ensure_future(self._pop(channel))
            try:
                popped = await asyncio.shield(attempt)
            except asyncio.CancelledError:
                await self._hand_over(attempt)
                raise
            if popped is not None:
                return popped

    async def _pop(self, channel: str) -> Popped | None:
        """One blocking pop of this process's list; None when it timed out empty."""
        index = self.consistent_hash(channel)
        key = self.prefix + channel
        await self.receive_clean_locks.acquire(key)
        try:
            content = await self._brpop_with_clean(index, key, timeout=self.brpop_timeout)
        except BaseException:
            self.receive_clean_locks.release(key)
            raise
        if content is None:
            self.receive_clean_locks.release(key)
            return None
        # The backup copy goes once the message is handed on; the lock keeps
        # the next pop from restoring it meanwhile.
        cleaner = asyncio.ensure_future(self._clean_receive_backup(index, key))
        self.receive_cleaners.append(cleaner)

        def cleaned(task: asyncio.Future[Any]) -> None:
            self.receive_cleaners.remove(task)
            self.receive_clean_locks.release(key)

        cleaner.add_done_callback(cleaned)
        message = self.deserialize(content)
        return message.pop("__asgi_channel__", channel), message

    async def _hand_over(self, attempt: asyncio.Future[Popped | None]) -> None:
        """Let a pop its receiver gave up on finish; buffer its message for the addressee."""
        while not attempt.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(attempt)
        if attempt.cancelled() or attempt.exception() is not None:
            return
        popped = attempt.result()
        if popped is None:
            return
        addressees, message = popped
        leaving = _receiving.get()
        for name in addressees if isinstance(addressees, list) else [addressees]:
            if name != leaving:
                self.receive_buffer[name].put_nowait(message)
