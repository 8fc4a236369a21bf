"""The circuit breaker's store in Redis, shared by every process: two small Lua scripts.

Keys, hash-tagged per model and credential like the governor's (a Redis Cluster keeps them
on one node) but apart from them: ``…:breaker`` (hash: ``opened_until`` (0 closed),
``reopens``, ``probe`` (the probe call's ticket), ``probe_until`` (its lease)) and
``…:breaker:fails`` (sorted set: failures since the last success, by time; a call may
add several, each its ticket and time). They expire a
day after their last change, so a model no longer used leaves nothing behind. The arithmetic
is ``MemoryBreakerStore``'s, line for line.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import RedisError

from cognition.governor.breaker import (
    HALF_OPEN_WAIT,
    BreakerPolicy,
    CircuitState,
    Outcome,
    State,
    Verdict,
    circuit_state,
)
from cognition.governor.errors import ProviderUnavailable

_TTL_MS = 86_400_000

_ENTER = """
local now, ticket, probe_seconds, wait = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_until') or '0')
if opened == 0 then return {'1', 'closed', '0'} end
if now < opened then return {'0', 'open', tostring(opened)} end
local probe = redis.call('HGET', KEYS[1], 'probe') or ''
local lease = tonumber(redis.call('HGET', KEYS[1], 'probe_until') or '0')
if probe ~= '' and probe ~= ticket and lease > now then
  return {'0', 'half_open', tostring(math.min(lease, now + wait))}
end
redis.call('HSET', KEYS[1], 'probe', ticket, 'probe_until', tostring(now + probe_seconds))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'1', 'half_open', '0'}
"""

_RECORD = """
local now, ticket, outcome = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local limit, window = tonumber(ARGV[4]), tonumber(ARGV[5])
local open_s, max_open = tonumber(ARGV[6]), tonumber(ARGV[7])
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_until') or '0')
local probe = redis.call('HGET', KEYS[1], 'probe') or ''
local is_probe = probe ~= '' and probe == ticket
if outcome == 'success' and (is_probe or opened == 0) then
  redis.call('DEL', KEYS[1], KEYS[2])
elseif (outcome == 'failure' or outcome == 'paced') and is_probe then
  local reopens = tonumber(redis.call('HGET', KEYS[1], 'reopens') or '0') + 1
  local seconds = math.min(open_s * 2 ^ reopens, max_open)
  redis.call('HSET', KEYS[1], 'reopens', reopens, 'opened_until', tostring(now + seconds), 'probe', '',
    'probe_until', '0')
elseif outcome == 'failure' and opened == 0 then
  local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if last[2] and now - tonumber(last[2]) > window then redis.call('DEL', KEYS[2]) end
  redis.call('ZADD', KEYS[2], now, ticket .. '@' .. ARGV[1])
  if redis.call('ZCARD', KEYS[2]) >= limit then
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'opened_until', tostring(now + open_s), 'reopens', 0)
  end
elseif outcome ~= 'success' and is_probe then
  redis.call('HSET', KEYS[1], 'probe', '', 'probe_until', '0')
end
for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], ARGV[8]) end
return 1
"""


class RedisBreakerStore:
    """Implements ``cognition.governor.breaker.BreakerStore`` on a ``redis.asyncio.Redis``,
    which it owns. A Redis that does not answer is ``ProviderUnavailable``: as for the
    governor, no call is made that could not be accounted for."""

    def __init__(self, redis: Any, namespace: str = "cognition:governor") -> None:
        self._redis = redis
        self.namespace = namespace
        self._enter = redis.register_script(_ENTER)
        self._record = redis.register_script(_RECORD)

    def _keys(self, key: str) -> list[str]:
        base = f"{self.namespace}:{{{key}}}:breaker"
        return [base, f"{base}:fails"]

    async def enter(self, key: str, ticket: str, now: float, policy: BreakerPolicy) -> Verdict:
        args = [repr(now), ticket, repr(policy.probe_seconds), repr(HALF_OPEN_WAIT), _TTL_MS]
        allowed, state, until = await self._run(self._enter, self._keys(key)[:1], args)
        return Verdict(allowed == "1", circuit_state_name(state), float(until))

    async def record(
        self, key: str, ticket: str, outcome: Outcome, now: float, policy: BreakerPolicy
    ) -> None:
        args = [
            repr(now),
            ticket,
            outcome,
            policy.failures,
            repr(policy.window_seconds),
            repr(policy.open_seconds),
            repr(policy.max_open_seconds),
            _TTL_MS,
        ]
        await self._run(self._record, self._keys(key), args)

    async def state(self, key: str, now: float) -> CircuitState:
        circuit, fails = self._keys(key)
        try:
            opened, reopens = await self._redis.hmget(circuit, ["opened_until", "reopens"])
            failures = await self._redis.zcard(fails)
        except RedisError as exc:
            raise _unreachable(exc) from None
        until = float(opened or 0)
        return CircuitState(circuit_state(until, now), until, int(failures), int(reopens or 0))

    async def close(self) -> None:
        await self._redis.aclose()

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            result = await script(keys=keys, args=args)
        except RedisError as exc:  # its messages name host and port, never the password
            raise _unreachable(exc) from None
        if isinstance(result, list):
            return [part.decode() if isinstance(part, bytes) else part for part in result]
        return result


def circuit_state_name(value: str) -> State:
    names: dict[str, State] = {"closed": "closed", "half_open": "half_open", "open": "open"}
    return names[value]


def _unreachable(exc: RedisError) -> ProviderUnavailable:
    return ProviderUnavailable(f"the rate governor's Redis is not reachable (its circuit breaker): {exc}")
