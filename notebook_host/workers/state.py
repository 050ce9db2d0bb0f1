"""Shared state of a cluster in Redis: worker heartbeats, sessions, limits.

Everything expires by itself, so a process that dies (kill -9) leaves
nothing behind for long: a worker's heartbeat key lives ``WORKER_EXPIRY``
seconds after its last beat; a session's record lives while a front keeps
refreshing it (open socket) and ``SESSION_TTL`` after; a per-user limit
counts only the sockets whose front refreshed them in the last few seconds.

Every call is bounded by short socket timeouts. When Redis cannot be reached
the call raises :class:`ClusterUnavailable` with a sentence a page can show.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from dataclasses import asdict
from typing import Any

import redis as redis_sync
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..metrics import record as metrics
from . import scripts
from .records import WorkerInfo, WorkerRecord
from .settings import redis_url

logger = logging.getLogger(__name__)

PREFIX = "notebook_host:"

#: Seconds any one Redis call may take before it counts as unreachable.
REDIS_TIMEOUT = 2.0


class ClusterUnavailable(Exception):
    """Redis (the cluster's shared state) did not answer in time.

    ``str()`` carries the cause, for logs; :attr:`public` is the sentence a
    browser may see (Redis error text names hosts and ports).
    """

    public = (
        "The session store (Redis) is unreachable, so no kernel can be reached "
        "right now; this page retries by itself."
    )

    def __init__(self, cause: BaseException) -> None:
        metrics.redis_error()
        self.detail = f"{type(cause).__name__}: {cause}"
        super().__init__(f"{self.public} ({self.detail})")


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
    weakref.WeakKeyDictionary()
)


def client() -> aioredis.Redis:
    """This event loop's Redis client (a client is bound to the loop it runs on)."""
    loop = asyncio.get_running_loop()
    found = _clients.get(loop)
    if found is None:
        found = aioredis.from_url(
            redis_url(),
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            retry_on_timeout=False,
        )
        _clients[loop] = found
    return found


async def call(coro: Any) -> Any:
    """Await one Redis call, bounded; errors become ClusterUnavailable."""
    try:
        return await asyncio.wait_for(coro, REDIS_TIMEOUT * 2)
    except (RedisError, OSError, TimeoutError) as exc:
        raise ClusterUnavailable(exc) from exc


# -- workers ------------------------------------------------------------------


#: Seconds a placement counts against a worker before its beat must have it.
RESERVATION_SECONDS = 15.0


async def beat(info: WorkerInfo, expiry: float, counted: list[str]) -> None:
    """Announce a worker for ``expiry`` seconds.

    ``counted``: sessions placed here that ``info.sessions`` now includes, so
    their reservations (see :func:`placed`) stop counting in the same step.
    """
    pipe = client().pipeline(transaction=True)
    pipe.set(PREFIX + "worker:" + info.name, json.dumps(asdict(info)), px=int(expiry * 1000))
    pipe.sadd(PREFIX + "workers", info.name)
    if counted:
        pipe.zrem(PREFIX + "reserved:" + info.name, *counted)
    await call(pipe.execute())


def beat_sync(info: WorkerInfo, expiry: float, counted: list[str]) -> None:
    """:func:`beat` from a plain thread (the worker's heartbeat thread), bounded."""
    global _sync_client
    if _sync_client is None:
        _sync_client = redis_sync.Redis.from_url(
            redis_url(), socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
    pipe = _sync_client.pipeline(transaction=True)
    pipe.set(PREFIX + "worker:" + info.name, json.dumps(asdict(info)), px=int(expiry * 1000))
    pipe.sadd(PREFIX + "workers", info.name)
    if counted:
        pipe.zrem(PREFIX + "reserved:" + info.name, *counted)
    try:
        pipe.execute()
    except (RedisError, OSError) as exc:
        raise ClusterUnavailable(exc) from exc


_sync_client: redis_sync.Redis | None = None


async def leave(name: str) -> None:
    redis = client()
    await call(redis.delete(PREFIX + "worker:" + name))
    await call(redis.srem(PREFIX + "workers", name))


async def _placement(session_id: str, holder: str) -> tuple[str, list[WorkerInfo]]:
    """Run :data:`scripts.PLACE`: the worker it reserved a slot on ('' none), and the live ones."""
    found = await call(
        client().eval(
            scripts.PLACE,
            1,
            PREFIX + "workers",
            PREFIX,
            session_id,
            int(RESERVATION_SECONDS * 1000),
            holder,
        )
    )
    alive = []
    for raw, reserved in zip(found[1::2], found[2::2], strict=True):
        info = WorkerInfo.loads(raw)
        info.sessions += int(reserved)  # placed, not yet in the worker's own count
        alive.append(info)
    chosen = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
    return chosen, alive


async def workers() -> list[WorkerInfo]:
    """Live workers (their heartbeat has not expired); forgets the dead ones.

    A worker's ``sessions`` include the sessions placed on it and not yet in
    its heartbeat's count.
    """
    return (await _placement("", ""))[1]


async def place(session_id: str, holder: str = "") -> WorkerInfo | None:
    """Reserve a slot for ``session_id`` on the worker with the most room, atomically.

    ``holder``: the worker holding the session's kernel (a reconnect), chosen
    while it is alive and not draining. None when no worker has room. The
    slot counts against the worker until a beat whose count has the session
    (:func:`beat`), or :data:`RESERVATION_SECONDS`.
    """
    chosen, alive = await _placement(session_id, holder)
    return next((w for w in alive if w.name == chosen), None)


async def worker(name: str) -> WorkerInfo | None:
    raw = await call(client().get(PREFIX + "worker:" + name))
    return WorkerInfo.loads(raw) if raw is not None else None


def least_loaded(candidates: list[WorkerInfo]) -> WorkerInfo | None:
    """The live worker with the most free room, if any has room."""
    open_ = [w for w in candidates if not w.draining and w.free > 0]
    return min(open_, key=lambda w: (-w.free, w.name), default=None)


# -- sessions -----------------------------------------------------------------


async def record(entry: WorkerRecord, ttl: float) -> None:
    redis = client()
    key = PREFIX + "session:" + entry.session_id
    await call(redis.set(key, entry.dumps(), px=int(ttl * 1000)))
    if entry.owner:
        index = PREFIX + "owner:" + entry.owner
        await call(redis.sadd(index, entry.session_id))
        await call(redis.pexpire(index, int(ttl * 1000)))


async def session(session_id: str | None) -> WorkerRecord | None:
    if not session_id:
        return None
    raw = await call(client().get(PREFIX + "session:" + session_id))
    return WorkerRecord.loads(raw) if raw is not None else None


async def refresh(entry: WorkerRecord, ttl: float) -> None:
    """Keep a session's record for ``ttl`` more seconds; write it again if Redis lost it.

    The front with the open socket holds the record in memory, so a Redis
    restart costs the sessions with no open socket only.
    """
    redis = client()
    if not await call(redis.pexpire(PREFIX + "session:" + entry.session_id, int(ttl * 1000))):
        await record(entry, ttl)
    elif entry.owner:
        await call(redis.pexpire(PREFIX + "owner:" + entry.owner, int(ttl * 1000)))


async def forget(session_id: str) -> None:
    await call(client().delete(PREFIX + "session:" + session_id))


async def sessions_of(owner: str | None) -> list[WorkerRecord]:
    """The live sessions this owner key opened (for downloads, which name none)."""
    if not owner:
        return []
    redis = client()
    ids = sorted(i.decode() for i in await call(redis.smembers(PREFIX + "owner:" + owner)))
    if not ids:
        return []
    raws = await call(redis.mget([PREFIX + "session:" + i for i in ids]))
    gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
    if gone:
        await call(redis.srem(PREFIX + "owner:" + owner, *gone))
    return [WorkerRecord.loads(raw) for raw in raws if raw is not None]


async def all_sessions() -> list[WorkerRecord]:
    """Every session record (health and the management command; a SCAN)."""
    redis = client()
    found = []
    async for key in redis.scan_iter(match=PREFIX + "session:*", count=500):
        raw = await call(redis.get(key))
        if raw is not None:
            found.append(WorkerRecord.loads(raw))
    return found


# -- limits -------------------------------------------------------------------


async def hold(limit_key: str, session_id: str, limit: int | None, seconds: float) -> bool:
    """Count an open socket against ``limit_key`` for ``seconds``, atomically.

    False (nothing counted) when ``limit`` sockets of other sessions are held
    already. Fronts call it again while the socket stays open; a dead front's
    holds run out by themselves.
    """
    result = await call(
        client().eval(
            scripts.ADMIT,
            1,
            PREFIX + "limit:" + limit_key,
            session_id,
            limit or 0,
            int(seconds * 1000),
        )
    )
    return bool(result)


async def release(limit_key: str, session_id: str) -> None:
    await call(client().zrem(PREFIX + "limit:" + limit_key, session_id))
