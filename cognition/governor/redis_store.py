"""The governor's counts in Redis, shared by every process: one Lua script admits.

Why a script of our own: ``limits`` checks one limit per hit, so requests, tokens and the
day would be three non-atomic hits (one may pass and the next refuse, leaving a count
taken); ``pyrate-limiter`` checks several rates at once but with one weight for all, so a
call cannot count 1 request and N tokens; neither refunds a reservation, leases a
concurrency slot or resets at Pacific midnight. The script does all of it in one step.

Keys (hash-tagged per model and credential, so a Redis Cluster keeps them on one node):
``…:req`` (sorted set: ticket by admit time), ``…:tok`` (hash: ticket → tokens reserved),
``…:state`` (hash: token total, blocked_until, parked_until, adaptive limit), ``…:lease`` (sorted set:
ticket by lease expiry), ``…:day:<date>`` (the day's request count, expiring an hour after the day ends).
Times are the callers' clocks (epoch seconds, sent with each call), so a test can move them.
Both lanes count in the same keys; a bulk call is sent its lane's (smaller) caps and the query
share of the slots, so one script checks either lane in the same single step.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError

from cognition.governor.errors import ProviderUnavailable
from cognition.governor.port import Day, Decision, Lane, Outcome, Quota, Reason

_ACQUIRE = """
local now, ticket, tokens = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local window, rpm, tpm = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local rpd, maxc, lease, day_ends = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]
local slot_share = tonumber(ARGV[11])  -- the query lane's share of the slots (0 for queries)
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
local total = tonumber(redis.call('HGET', KEYS[3], 'tokens') or '0')
for _, member in ipairs(old) do
  total = total - tonumber(redis.call('HGET', KEYS[2], member) or '0')
  redis.call('HDEL', KEYS[2], member)
end
if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window) end
if total < 0 or redis.call('ZCARD', KEYS[1]) == 0 then total = 0 end
redis.call('HSET', KEYS[3], 'tokens', total)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local blocked = tonumber(redis.call('HGET', KEYS[3], 'blocked_until') or '0')
if blocked > now then return {'blocked', tostring(blocked - now)} end
local parked = tonumber(redis.call('HGET', KEYS[3], 'parked_until') or '0')
if parked > now then return {'day', tostring(parked - now)} end
if tokens > tpm then return {'too_large', '0'} end
local today = tonumber(redis.call('GET', KEYS[5]) or '0')
if today >= rpd then return {'day', tostring(tonumber(day_ends) - now)} end
local limit = math.min(tonumber(redis.call('HGET', KEYS[3], 'limit') or ARGV[8]), maxc)
local slots = math.max(1, math.floor(math.max(1, math.floor(limit)) * (1 - slot_share) + 1e-9))
if redis.call('ZCARD', KEYS[4]) >= slots then return {'concurrency', '0.05'} end
local count = redis.call('ZCARD', KEYS[1])
local leaving = math.max(0, math.min(count - rpm, count - 1))  -- the call whose end makes room
local oldest = redis.call('ZRANGE', KEYS[1], leaving, leaving, 'WITHSCORES')
local free_at = 0
if oldest[2] then free_at = tonumber(oldest[2]) + window - now end
if count >= rpm then return {'requests', tostring(free_at)} end
if total + tokens > tpm then return {'tokens', tostring(free_at)} end
redis.call('ZADD', KEYS[1], now, ticket)
redis.call('HSET', KEYS[2], ticket, tokens)
redis.call('HSET', KEYS[3], 'tokens', total + tokens)
redis.call('ZADD', KEYS[4], now + lease, ticket)
redis.call('INCR', KEYS[5])
redis.call('PEXPIRE', KEYS[5], math.ceil((tonumber(day_ends) - now + 3600) * 1000))
local idle = math.ceil((window + lease) * 1000)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], idle + 86400000) end
return {'ok', '0'}
"""

_RELEASE = """
local now, ticket, used, outcome = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local maxc, blocked_until = tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREM', KEYS[4], ticket)
-- the call counts from its end: the server saw it between admit and now
if redis.call('ZSCORE', KEYS[1], ticket) then redis.call('ZADD', KEYS[1], 'XX', now, ticket) end
if used ~= '' and redis.call('ZSCORE', KEYS[1], ticket) then
  local had = tonumber(redis.call('HGET', KEYS[2], ticket) or '0')
  redis.call('HSET', KEYS[2], ticket, used)
  redis.call('HINCRBY', KEYS[3], 'tokens', tonumber(used) - had)
end
local limit = math.min(tonumber(redis.call('HGET', KEYS[3], 'limit') or ARGV[5]), maxc)
if outcome == 'ok' then
  limit = math.min(maxc, limit + 1 / limit)
elseif outcome == 'throttled' then
  local blocked = tonumber(redis.call('HGET', KEYS[3], 'blocked_until') or '0')
  if blocked <= now then limit = math.max(1, limit / 2) end
  if blocked_until > blocked then redis.call('HSET', KEYS[3], 'blocked_until', ARGV[6]) end
elseif outcome == 'parked' then
  local parked = tonumber(redis.call('HGET', KEYS[3], 'parked_until') or '0')
  if blocked_until > parked then redis.call('HSET', KEYS[3], 'parked_until', ARGV[6]) end
end
redis.call('HSET', KEYS[3], 'limit', tostring(limit))
return 1
"""


class RedisBackend:
    """Implements ``cognition.governor.port.Backend`` on a ``redis.asyncio.Redis``, which it
    owns (``close`` closes it). A Redis that does not answer fails the call as
    ``ProviderUnavailable`` (retryable): an unmetered call is never made."""

    def __init__(self, redis: Any, namespace: str = "cognition:governor") -> None:
        self._redis = redis
        self.namespace = namespace
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)

    def _keys(self, key: str, day: str = "") -> list[str]:
        base = f"{self.namespace}:{{{key}}}"
        return [f"{base}:req", f"{base}:tok", f"{base}:state", f"{base}:lease", f"{base}:day:{day}"]

    async def acquire(
        self,
        key: str,
        ticket: str,
        tokens: int,
        quota: Quota,
        now: float,
        day: Day,
        lane: Lane = "bulk",
    ) -> Decision:
        lane_quota = quota.for_lane(lane)  # the window's and day's caps of this lane
        args = [
            repr(now),
            ticket,
            tokens,
            quota.window_seconds,
            lane_quota.requests_per_minute,
            lane_quota.tokens_per_minute,
            lane_quota.requests_per_day,
            quota.max_concurrency,
            quota.lease_seconds,
            repr(day.ends),
            repr(quota.query_share if lane == "bulk" else 0.0),
        ]
        reason, wait = await self._run(self._acquire, self._keys(key, day.name), args)
        return Decision(_reason(reason), float(wait))

    async def release(
        self,
        key: str,
        ticket: str,
        used: int | None,
        outcome: Outcome,
        quota: Quota,
        now: float,
        blocked_until: float,
    ) -> None:
        used_arg = "" if used is None else str(used)
        args = [repr(now), ticket, used_arg, outcome, quota.max_concurrency, repr(blocked_until)]
        await self._run(self._release, self._keys(key)[:4], args)

    async def concurrency(self, key: str, quota: Quota) -> float:
        value = await self._redis.hget(self._keys(key)[2], "limit")
        return (
            min(float(value), float(quota.max_concurrency))
            if value is not None
            else float(quota.max_concurrency)
        )

    async def close(self) -> None:
        await self._redis.aclose()

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            result = await script(keys=keys, args=args)
        except RedisError as exc:  # its messages name host and port, never the password
            raise ProviderUnavailable(f"the rate governor's Redis is not reachable: {exc}") from None
        if isinstance(result, list):
            return [part.decode() if isinstance(part, bytes) else part for part in result]
        return result


def _reason(value: str) -> Reason:
    reasons: dict[str, Reason] = {
        r: r for r in ("ok", "blocked", "requests", "tokens", "concurrency", "day", "too_large")
    }
    return reasons[value]
