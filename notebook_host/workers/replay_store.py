"""Recorded widget values of the cluster's sessions, in Redis (see runtime/replay.py).

One hash per session, apart from its directory entry (which a dead worker's
sessions lose): ``o`` owner key, ``c`` code hash, ``b`` bytes of values,
``n`` the last sequence number, ``x`` the bound it went over,
``v:<object id>`` each value as JSON and ``s:<object id>`` the sequence
number it was last set with (values replay in the order set). A change
costs one EVALSHA that checks the owner and the bounds and sets the TTL, so
the widget hot path gains a single Redis round trip.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..conf import get_config
from ..runtime import replay
from . import records, settings, state

# KEYS[1]: the session's hash. ARGV: owner, code hash, ttl ms, max values,
# max bytes, then object id and value pairs. Returns 1 kept, 0 over a bound,
# -1 another owner's session.
_RECORD = """
local key = KEYS[1]
local owner = redis.call('HGET', key, 'o')
if owner and owner ~= ARGV[1] then return -1 end
local ttl = tonumber(ARGV[3])
if redis.call('HGET', key, 'c') ~= ARGV[2] then
  redis.call('DEL', key)
  redis.call('HSET', key, 'o', ARGV[1], 'c', ARGV[2], 'b', 0, 'n', 0)
elseif redis.call('HEXISTS', key, 'x') == 1 then
  redis.call('PEXPIRE', key, ttl)
  return 0
end
local bytes = tonumber(redis.call('HGET', key, 'b'))
local seq = tonumber(redis.call('HGET', key, 'n')) or 0
for i = 6, #ARGV, 2 do
  local f = 'v:' .. ARGV[i]
  bytes = bytes - redis.call('HSTRLEN', key, f) + string.len(ARGV[i + 1])
  seq = seq + 1
  redis.call('HSET', key, f, ARGV[i + 1], 's:' .. ARGV[i], seq)
end
local count = (redis.call('HLEN', key) - 4) / 2
local over = ''
if count > tonumber(ARGV[4]) then
  over = 'values'
elseif bytes > tonumber(ARGV[5]) then
  over = 'bytes'
end
if over ~= '' then
  redis.call('DEL', key)
  redis.call('HSET', key, 'o', ARGV[1], 'c', ARGV[2], 'b', 0, 'x', over)
  redis.call('PEXPIRE', key, ttl)
  return 0
end
redis.call('HSET', key, 'b', bytes, 'n', seq)
redis.call('PEXPIRE', key, ttl)
return 1
"""

_scripts: dict[int, Any] = {}


def lost_worker_next() -> str:
    """What a page whose worker died is told comes next."""
    if replay.enabled():
        return "reconnecting restores your widget values in a new kernel on another worker"
    return "reconnecting starts a fresh kernel on another worker"


def code_of(path: Path) -> str:
    """The notebook's code hash; "" (nothing recorded) when it cannot be read."""
    if not replay.enabled():
        return ""
    try:
        return replay.code_hash(path)
    except OSError:
        return ""


def key(session_id: str) -> str:
    return state.PREFIX + "replay:" + session_id


def ttl() -> float:
    """Seconds values outlive their last refresh: past the session's own record."""
    return float(get_config()["SESSION_TTL"]) + settings.expiry() + 60.0


async def record(entry: records.WorkerRecord, subpath: str, body: bytes) -> int | None:
    """Keep the values a kernel API call sets, before it is forwarded.

    None when it sets none (or replay is off, or the session has no owner);
    else the script's answer. Raises ClusterUnavailable like any state call.
    """
    if not replay.enabled() or not entry.owner or not entry.code_hash:
        return None
    pairs = replay.changes(subpath, body)
    if not pairs:
        return None
    redis = state.client()
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_RECORD)
    max_values, max_bytes = replay.bounds()
    args: list[Any] = [entry.owner, entry.code_hash, int(ttl() * 1000), max_values, max_bytes]
    for object_id, value in pairs:
        args += [object_id, value]
    return int(await state.call(script(keys=[key(entry.session_id)], args=args)))


async def recorded(session_id: str) -> replay.Recorded | None:
    """What the cluster holds for a session, if anything."""
    raw = await state.call(state.client().hgetall(key(session_id)))
    if not raw:
        return None
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    order = {k[2:]: int(v) for k, v in fields.items() if k.startswith("s:")}
    found = sorted((k[2:] for k in fields if k.startswith("v:")), key=lambda i: order.get(i, 0))
    values = {i: fields["v:" + i] for i in found}  # in the order set
    return replay.Recorded(
        owner=fields.get("o", ""), code=fields.get("c", ""), values=values, over=fields.get("x", "")
    )


async def plan(session_id: str, owner: str | None, code: str) -> dict[str, Any] | None:
    """The values (and notice) a new kernel of this session starts with, if any."""
    if not replay.enabled():
        return None
    return replay.plan(await recorded(session_id), owner, code)


class Keeper:
    """Refreshes a session's values while its socket is open, a few times per TTL."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.kept = time.monotonic()

    async def keep(self) -> None:
        if time.monotonic() - self.kept < ttl() / 4:
            return
        self.kept = time.monotonic()
        await state.call(state.client().pexpire(key(self.session_id), int(ttl() * 1000)))
