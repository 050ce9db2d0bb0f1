"""The Lua scripts the cluster's state runs in Redis, each atomic (Redis runs a script alone).

:mod:`.state` loads them once per client and calls them by hash.
"""

# KEYS[1]: the limit's sorted set (session id -> hold-until, Redis time in ms).
# ARGV: session id, limit (0: none), hold milliseconds. Returns 1 admitted, 0 full.
ADMIT = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
local limit = tonumber(ARGV[2])
if (not held) and limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
"""

# Placement is one script so that it is atomic: fronts place sessions at the
# same instant, and a choice made from counts read in one round trip and a
# reservation written in another let two fronts take a worker's last slot
# (3 of 100 sockets closed "Worker w is full" with room elsewhere, measured).
# Redis runs a script alone, so each placement sees every earlier one.
#
# A worker's room is what its WS_CONNECT finds (the worker's ``_make_room``): capacity,
# less its heartbeat's kernels and the sessions reserved on it since, plus the
# idle kernels (no socket) it closes to make room; records.WorkerInfo.free says the
# same in Python. It reads the worker keys by name from the set, so it needs
# one Redis (not Redis Cluster), as the rest of this module does.
#
# KEYS[1]: the set of worker names.
# ARGV: key prefix, session id to place ('' only lists), reservation lifetime
# in ms, the worker holding the session's kernel ('' none: a reconnect
# resumes it there while it is alive and not draining, room or not).
# Returns {chosen name or '', heartbeat, reserved, heartbeat, ...} for the
# live workers; forgets the dead ones and the reservations past their time.
PLACE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local prefix, session, hold, holder = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local names = redis.call('SMEMBERS', KEYS[1])
table.sort(names)
local out, best, most = {''}, nil, 0
for _, name in ipairs(names) do
  local raw = redis.call('GET', prefix .. 'worker:' .. name)
  if raw then
    local key = prefix .. 'reserved:' .. name
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ms - hold)
    local reserved = redis.call('ZCARD', key)
    local info = cjson.decode(raw)
    local idle = tonumber(info.idle) or 0
    local free = info.capacity - info.sessions - reserved + idle
    if info.draining ~= true then
      if name == holder then
        best, most = name, math.huge
      elseif free > most then
        best, most = name, free
      end
    end
    out[#out + 1] = raw
    out[#out + 1] = reserved
  else
    redis.call('SREM', KEYS[1], name)
  end
end
if session ~= '' and best then
  local key = prefix .. 'reserved:' .. best
  redis.call('ZADD', key, ms, session)
  redis.call('PEXPIRE', key, hold * 2)
  out[1] = best
end
return out
"""
