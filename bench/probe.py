"""The benchmarks' view of a server from inside: ``_bench/stats``.

It reports what the server holds (loaded apps, kernel sessions,
threads, modules); with ``?deep=1`` it also counts live objects of the types
that pin a notebook's memory (after a gc.collect(), so cyclic garbage does not
count), and with ``?chain=<type name>`` the referrers that keep one such
object alive. ``?trim=1`` runs the garbage collector and glibc's
``malloc_trim`` first, to tell memory the process still uses from memory the
allocator keeps but no longer needs; ``?prune=1`` first prunes the session
directory as the next websocket connect would once its grace period is over.
With PYTHONTRACEMALLOC set, ``?tracemalloc=baseline`` then ``=diff`` (or
``=files``) lists where the allocations that grew since came from.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import re
import sys
import threading
import types
from collections import Counter

from django.http import HttpRequest, JsonResponse

#: Classes whose live instances the deep probe counts: label -> module.qualname.
TRACKED_TYPES = {
    "MarimoApp": "notebook_host.marimo.app.MarimoApp",  # one per loaded notebook
    "SessionManager": "marimo._server.session_manager.SessionManager",  # one per app
    "Starlette": "starlette.applications.Starlette",  # marimo's per-notebook ASGI app
    "SessionImpl": "marimo._session.session.SessionImpl",  # one per kernel session
    "Kernel": "marimo._runtime.runtime.Kernel",  # one per kernel session
    # the session directory
    "LocalRecord": "notebook_host.runtime.session_directory.LocalRecord",
    "Notebook": "notebook_host.targets.notebook.ServedNotebook",  # one per file seen
}


def _proc_status() -> dict[str, int]:
    wanted = {"VmRSS", "VmHWM", "RssAnon", "Threads"}
    found: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in wanted:
                found[key] = int(value.split()[0])
    return found


def _prune_records() -> int:
    """Prune the session directory now, as the next socket would after its grace.

    notebook_host prunes records only when a socket opens, and only records
    older than session_directory.GRACE_SECONDS; a record pins its app (and so an
    evicted app) until then. This runs the product's own pruning with no grace.
    """
    from notebook_host.runtime import session_directory

    before = len(session_directory.directory)
    grace = session_directory.GRACE_SECONDS
    session_directory.GRACE_SECONDS = 0.0
    try:
        with session_directory.directory._lock:
            session_directory.directory._prune()
    finally:
        session_directory.GRACE_SECONDS = grace
    return before - len(session_directory.directory)


def _trim() -> dict[str, int]:
    before = _proc_status()["VmRSS"]
    collected = gc.collect()
    after_gc = _proc_status()["VmRSS"]
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return {
        "gc_collected": collected,
        "rss_kb_before": before,
        "rss_kb_after_gc": after_gc,
        "rss_kb_after_trim": _proc_status()["VmRSS"],
    }


def _describe(obj: object) -> str:
    name = type(obj).__qualname__
    if isinstance(obj, dict):
        keys = list(obj)[:6]
        return f"dict(len={len(obj)}, keys={keys!r})"[:200]
    if isinstance(obj, (list, tuple, set)):
        return f"{name}(len={len(obj)})"
    if isinstance(obj, types.FunctionType | types.MethodType):
        return f"{name} {getattr(obj, '__qualname__', '?')}"
    if isinstance(obj, types.CellType):
        return "cell"
    if isinstance(obj, types.FrameType):
        return f"frame {obj.f_code.co_qualname} {obj.f_code.co_filename}:{obj.f_lineno}"
    return f"{type(obj).__module__}.{name}"


def _chain(type_name: str, depth: int = 12) -> list[str] | None:
    """A chain of referrers from one live object of a type up to a root.

    ``type_name`` is a label of TRACKED_TYPES, a module.qualname or a class name.

    A root is a module's globals, a class, or a running frame. Breadth-first
    over gc.get_referrers; the search's own bookkeeping is skipped.
    """
    wanted = TRACKED_TYPES.get(type_name, type_name)
    gc.collect()
    targets = [
        o
        for o in gc.get_objects()
        if wanted in (type(o).__name__, f"{type(o).__module__}.{type(o).__qualname__}")
    ]
    if not targets:
        return None
    start = targets[0]
    del targets
    modules = [(name, vars(m)) for name, m in list(sys.modules.items()) if m is not None]
    module_dicts = {id(namespace): name for name, namespace in modules}
    parent: dict[int, int] = {}
    found: dict[int, object] = {id(start): start}
    queue: list[object] = [start]
    own = {id(parent), id(found), id(modules), id(module_dicts)}
    for _ in range(depth):
        nxt: list[object] = []
        own.update({id(queue), id(nxt)})
        for obj in queue:
            for ref in gc.get_referrers(obj):
                if id(ref) in found or id(ref) in own or isinstance(ref, types.FrameType):
                    continue
                if isinstance(ref, tuple) and ref in modules:
                    continue
                found[id(ref)] = ref
                parent[id(ref)] = id(obj)
                if id(ref) in module_dicts or isinstance(ref, type):
                    path = [
                        f"module {module_dicts[id(ref)]} globals"
                        if id(ref) in module_dicts
                        else _describe(ref)
                    ]
                    key = parent[id(ref)]
                    while key in parent:
                        path.append(_describe(found[key]))
                        key = parent[key]
                    path.append(_describe(start))
                    return path
                nxt.append(ref)
        queue = nxt
    return [f"no module or class root within {depth} steps"]


_baseline: list = []


def _tracemalloc(action: str) -> dict | None:
    """``baseline`` keeps a snapshot; ``diff`` lists the biggest growths since.

    Only when the server runs with PYTHONTRACEMALLOC set.
    """
    import tracemalloc

    if not tracemalloc.is_tracing():
        return None
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    if action == "baseline" or not _baseline:
        _baseline[:] = [snapshot]
        return {"traced_kb": tracemalloc.get_traced_memory()[0] // 1024}
    group = "filename" if action == "files" else "lineno"
    stats = snapshot.compare_to(_baseline[0], group)
    return {
        "growth_kb": sum(stat.size_diff for stat in stats) // 1024,
        "top": [
            {"where": str(stat.traceback), "kb": stat.size_diff // 1024, "count": stat.count_diff}
            for stat in stats[:30]
        ],
    }


async def stats(request: HttpRequest) -> JsonResponse:
    # Async on purpose: a sync view would add a worker thread to the count.
    from notebook_host.runtime import session_directory
    from notebook_host.runtime.notebook_apps import apps

    body: dict = {}
    if request.GET.get("prune"):
        body["records_pruned"] = _prune_records()
    if request.GET.get("trim"):
        body["trim"] = _trim()
    loaded = apps.loaded()
    body.update(
        {
            "apps_loaded": len(loaded),
            "kernel_sessions": sum(app.session_count() for app in loaded),
            "session_records": len(session_directory.directory),
            "threads_python": threading.active_count(),
            "sys_modules": len(sys.modules),
            "proc": _proc_status(),
        }
    )
    if request.GET.get("deep"):
        # Cyclic garbage is not "live": collect it first (RSS is read before).
        body["deep_gc_collected"] = gc.collect()
        wanted = {qualified: label for label, qualified in TRACKED_TYPES.items()}
        counts: Counter[str] = Counter()
        for obj in gc.get_objects():
            cls = type(obj)
            label = wanted.get(f"{cls.__module__}.{cls.__qualname__}")
            if label is not None:
                counts[label] += 1
        body["live_objects"] = {label: counts.get(label, 0) for label in TRACKED_TYPES}
        body["gc_objects"] = len(gc.get_objects())
        body["thread_names"] = dict(
            Counter(re.sub(r"\d+", "N", t.name) for t in threading.enumerate())
        )
    if request.GET.get("tracemalloc"):
        body["tracemalloc"] = _tracemalloc(request.GET["tracemalloc"])
    if request.GET.get("chain"):
        body["chain"] = _chain(request.GET["chain"])
    return JsonResponse(body)
