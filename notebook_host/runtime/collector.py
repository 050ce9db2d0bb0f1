"""Python's garbage collector, set for a long-running server of many kernels.

Everything loaded before the first request (Django, marimo, the notebooks'
imports) lives as long as the process, yet every full collection walks it
again, and a kernel session's start allocates enough to trigger several.
Once start-up is done, :func:`tune` collects once, moves what is left out of
the collector's sight (``gc.freeze()``) and raises the thresholds, so the
collector walks only what requests and kernels made, and less often.
``NOTEBOOK_HOST["GC_THRESHOLD"] = None`` leaves Python's collector as it is.

A closed kernel session leaves cycles that only a full collection frees, and
with raised thresholds those come seldom (on an idle server, never), so the
memory of closed sessions would come back late. :func:`session_closed`
therefore runs one full collection a few seconds after sessions end, once
the sessions ended since the last one are a quarter of those still open
(the proportion Python's own collector waits for), so a busy server does not
walk every open kernel's objects each time one closes.
"""

from __future__ import annotations

import asyncio
import gc
import logging

from ..conf import get_config

logger = logging.getLogger(__name__)

#: Seconds from a kernel session's end to the collection that frees it (its
#: kernel thread finishes meanwhile); sessions ending in between share it.
COLLECT_AFTER = 5.0

#: The pending collection and the loop it waits on.
_scheduled: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None
#: Kernel sessions ended since the last collection this module ran.
_ended = 0


def tune() -> None:
    """Freeze what start-up loaded and set ``GC_THRESHOLD`` (once start-up is done)."""
    threshold = get_config()["GC_THRESHOLD"]
    if threshold is None:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(*threshold)
    logger.debug("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), threshold)


def session_closed(still_open: int) -> None:
    """A kernel session ended (``still_open`` remain): collect fully soon, if enough ended."""
    global _scheduled, _ended
    if get_config()["GC_THRESHOLD"] is None:
        return  # Python's own thresholds collect often enough
    _ended += 1
    if _ended * 4 < still_open:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _scheduled is None or _scheduled[0] is not loop or _scheduled[1].cancelled():
        _scheduled = (loop, loop.call_later(COLLECT_AFTER, _collect))


def _collect() -> None:
    global _scheduled, _ended
    _scheduled = None
    _ended = 0
    gc.collect()
