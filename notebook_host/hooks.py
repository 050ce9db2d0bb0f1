"""Calling project-supplied callables that may be sync or async."""

from __future__ import annotations

import inspect
from typing import Any

from asgiref.sync import sync_to_async


def is_async_callable(fn: Any) -> bool:
    """True for async functions and for objects with an async ``__call__``."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - the method, not callable()
    )


async def call_hook(fn: Any, *args: Any) -> Any:
    """Await ``fn(*args)``; sync callables run in a thread so they may use the ORM."""
    if is_async_callable(fn):
        return await fn(*args)
    result = await sync_to_async(fn)(*args)
    if inspect.isawaitable(result):
        result = await result
    return result
