"""The circuit breaker in front of the Gemini stub, through the real client, shared in a real
Redis by callers that each have their own client, governor and Redis connection (as worker
processes would). The governors run on the stub's clock: a test ends a storm or an open
circuit by advancing it, so nothing waits a real minute and no assertion is about speed."""

from __future__ import annotations

import asyncio
import sys
import uuid
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest

from bench.gemini_stub import GeminiStub
from bench.redis_server import RedisServer
from cognition.embedding.gemini import GeminiEmbedder
from cognition.governor import CircuitOpen, ProviderUnavailable, QuotaPaced
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import Settings
from tests.helpers import REPO_ROOT, subprocess_env
from tests.integration.gemini_harness import StormStub, embedding_env, gemini_settings

FAILURES, OPEN, PACING = 3, 30.0, 2


def breaker_settings(stub: GeminiStub, redis_url: str | None, data_dir: Path) -> Settings:
    return gemini_settings(
        stub,
        redis_url,
        data_dir=data_dir,
        breaker_failures=FAILURES,
        breaker_open_seconds=OPEN,
        max_pacing=PACING,
    )


def callers(settings: Settings, count: int, stub: GeminiStub) -> list[GeminiEmbedder]:
    made = [make_embedder(settings, DataPaths.of(settings)) for _ in range(count)]
    embedders = [e for e in made if isinstance(e, GeminiEmbedder)]
    assert len(embedders) == count
    for embedder in embedders:
        embedder.governor._clock = stub.now  # the governor's and the breaker's clock
    return embedders


async def close(embedders: list[GeminiEmbedder]) -> None:
    for embedder in embedders:
        await embedder.aclose()


async def until_open(embedder: GeminiEmbedder, n: int) -> CircuitOpen:
    """Call until the circuit stops this caller (at most 20 calls)."""
    for call in range(20):
        try:
            await embedder.embed([f"caller {n} call {call}"])
        except (QuotaPaced, ProviderUnavailable):
            continue
        except CircuitOpen as exc:
            return exc
    raise AssertionError("the circuit never opened")


async def until_served(embedder: GeminiEmbedder, text: str) -> int:
    """Call until answered, waiting out ``CircuitOpen`` of a probe under way (bounded);
    returns the refusals met."""
    for refused in range(400):
        try:
            await embedder.embed([text])
            return refused
        except CircuitOpen:
            await asyncio.sleep(0.01)
    raise AssertionError("never served")


async def test_a_storm_of_429s_opens_the_circuit_and_no_call_is_made_while_open(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with StormStub() as stub:
        stub.storm_until = stub.now() + 60.0  # a minute of refusals, on the stub's clock
        embedders = callers(breaker_settings(stub, redis_server.url, tmp_path), 3, stub)
        try:
            stops = await asyncio.gather(*(until_open(e, n) for n, e in enumerate(embedders)))
            at_open = len(stub.arrivals)
            state = await embedders[0].governor.breaker.state()  # type: ignore[union-attr]
            opened_at = state.until - OPEN
            for embedder in embedders:  # open: refused here, nothing sent
                with pytest.raises(CircuitOpen, match="circuit of gemini-embedding-001 is open"):
                    await embedder.embed(["while open"])
            sent_while_open = len(stub.arrivals) - at_open

            stub.advance(60.0)  # the storm is over, and the circuit half-opens
            await asyncio.gather(*(until_served(e, f"after {n}") for n, e in enumerate(embedders)))
            closed = await embedders[0].governor.breaker.state()  # type: ignore[union-attr]
        finally:
            await close(embedders)

    # opened within (failures + other callers in flight) calls, each of max_pacing + 1 requests
    assert at_open <= (FAILURES + len(embedders) - 1) * (PACING + 1)
    assert state.state == "open" and all(stop.until == state.until for stop in stops)
    assert sent_while_open == 0
    assert not [t for t in stub.arrivals if opened_at < t < state.until]  # no request while open
    assert stub.stats["served"] == 3 and closed.state == "closed"  # every caller answered after


async def test_a_storm_paced_by_long_server_delays_still_opens_the_circuit(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Gemini's ``retryDelay`` in a storm is tens of seconds, so refusals come a delay apart
    and a call gives up pacing only every (max_pacing + 1) delays: scaled here, a delay of
    0.2 s against a window of 0.55 s. Counting only give-ups, three never fell within one
    window and the storm went on being probed a delay apart for as long as it lasted."""
    delay, window = 0.2, 0.55
    with StormStub() as stub:
        stub.storm_delay = delay
        stub.storm_until = stub.now() + 600.0
        settings = breaker_settings(stub, redis_server.url, tmp_path)
        settings.gemini.breaker_window_seconds = window
        (embedder,) = callers(settings, 1, stub)
        try:
            stop = await until_open(embedder, 0)
            at_open = len(stub.arrivals)
            state = await embedder.governor.breaker.state()  # type: ignore[union-attr]
            with pytest.raises(CircuitOpen):
                await embedder.embed(["while open"])
        finally:
            await embedder.aclose()

    # each call's first refusal is pacing; every refusal after a server's delay counts
    assert at_open <= 2 * FAILURES
    assert state.state == "open" and stop.until == state.until
    assert len(stub.arrivals) == at_open  # nothing sent once open
    assert stub.stats["served"] == 0


async def test_half_open_lets_exactly_one_probe_through_across_callers(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub() as stub:
        embedders = callers(breaker_settings(stub, redis_server.url, tmp_path), 5, stub)
        try:
            stub.script("unavailable", count=FAILURES)
            for n in range(FAILURES):
                with pytest.raises(ProviderUnavailable):
                    await embedders[n].embed([f"failing {n}"])
            with pytest.raises(CircuitOpen):
                await embedders[4].embed(["open"])
            assert len(stub.arrivals) == FAILURES

            stub.advance(OPEN)  # half-open
            stub.script("slow", seconds=1.0)  # the probe is under way while the others ask
            probe = asyncio.create_task(embedders[0].embed(["the probe"]))
            while not stub.in_flight:  # bounded by the probe's own progress
                await asyncio.sleep(0.01)
            others = await asyncio.gather(
                *(e.embed([f"other {n}"]) for n, e in enumerate(embedders[1:])), return_exceptions=True
            )
            during_probe = len(stub.arrivals)
            await probe
            after = await asyncio.gather(*(e.embed([f"closed {n}"]) for n, e in enumerate(embedders)))
        finally:
            await close(embedders)

    assert during_probe == FAILURES + 1  # the probe alone reached the stub
    assert all(isinstance(o, CircuitOpen) and "probe call is under way" in str(o) for o in others)
    assert stub.stats["fault_slow"] == 1  # the probe, answered
    assert len(after) == 5 and stub.stats["served"] == 5  # its success closed the circuit


async def test_a_failed_probe_reopens_for_twice_as_long(redis_server: RedisServer, tmp_path: Path) -> None:
    with GeminiStub() as stub:
        (embedder,) = callers(breaker_settings(stub, redis_server.url, tmp_path), 1, stub)
        breaker = embedder.governor.breaker
        assert breaker is not None
        try:
            stub.script("unavailable", count=FAILURES + 1)
            for n in range(FAILURES):
                with pytest.raises(ProviderUnavailable):
                    await embedder.embed([f"failing {n}"])
            stub.advance(OPEN)
            with pytest.raises(ProviderUnavailable):  # the probe fails
                await embedder.embed(["probe"])
            failed_at = stub.now()
            reopened = await breaker.state()
            with pytest.raises(CircuitOpen):
                await embedder.embed(["still open"])
        finally:
            await embedder.aclose()

    assert reopened.state == "open" and reopened.reopens == 1
    assert failed_at + 2 * OPEN - 1 < reopened.until <= failed_at + 2 * OPEN
    assert len(stub.arrivals) == FAILURES + 1


async def test_a_success_clears_the_count_and_a_day_refusal_does_not_count(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with GeminiStub() as stub:
        (embedder,) = callers(breaker_settings(stub, redis_server.url, tmp_path), 1, stub)
        try:
            for n in range(3):  # failures - 1, then a success: never open
                stub.script("unavailable", count=FAILURES - 1)
                for k in range(FAILURES - 1):
                    with pytest.raises(ProviderUnavailable):
                        await embedder.embed([f"failing {n}.{k}"])
                await embedder.embed([f"served {n}"])
            state = await embedder.governor.breaker.state()  # type: ignore[union-attr]
        finally:
            await embedder.aclose()
    assert state.state == "closed" and stub.stats["served"] == 3


async def test_without_redis_the_callers_of_one_data_directory_share_the_circuit(tmp_path: Path) -> None:
    with GeminiStub() as stub:
        embedders = callers(breaker_settings(stub, None, tmp_path), 2, stub)
        try:
            stub.script("unavailable", count=FAILURES)
            for n in range(FAILURES):
                with pytest.raises(ProviderUnavailable):
                    await embedders[0].embed([f"failing {n}"])
            with pytest.raises(CircuitOpen):
                await embedders[1].embed(["the other caller"])
        finally:
            await close(embedders)
    assert len(stub.arrivals) == FAILURES


_OTHER_PROCESS = """
import asyncio, sys
from cognition.governor import CircuitOpen
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from cognition.settings import get_settings

async def main():
    settings = get_settings()
    embedder = make_embedder(settings, DataPaths.of(settings))
    print("READY", flush=True)
    sys.stdin.readline()
    try:
        await embedder.embed(["from another process"])
        print("SERVED", flush=True)
    except CircuitOpen as exc:
        print("REFUSED " + str(exc), flush=True)
    finally:
        await embedder.aclose()

asyncio.run(main())
"""


async def test_the_probe_is_one_across_processes(redis_server: RedisServer, tmp_path: Path) -> None:
    """A worker process of its own (its client, governor and Redis connection) asks while
    this process's probe is under way: it is refused, and sends nothing. Both run on the
    real clock here, so the circuit opens for one second."""
    queue = f"test-{uuid.uuid4().hex}"
    with GeminiStub() as stub:
        env = subprocess_env(
            tmp_path,
            **embedding_env(
                stub,
                COGNITION_QUEUE__REDIS_URL=redis_server.url,
                COGNITION_QUEUE__NAME=queue,
                COGNITION_GEMINI__CACHE="false",
                COGNITION_GEMINI__BREAKER_FAILURES=str(FAILURES),
                COGNITION_GEMINI__BREAKER_OPEN_SECONDS="1",
            ),
        )
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _OTHER_PROCESS, env=env, cwd=REPO_ROOT, stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
        assert other.stdout is not None and other.stdin is not None
        assert await asyncio.wait_for(other.stdout.readline(), 120) == b"READY\n"
        settings = gemini_settings(stub, redis_server.url, data_dir=tmp_path, breaker_failures=FAILURES)
        settings.queue.name = queue
        settings.gemini.breaker_open_seconds = 1.0
        embedder = make_embedder(settings, DataPaths.of(settings))
        assert isinstance(embedder, GeminiEmbedder) and embedder.governor.breaker is not None
        try:
            stub.script("unavailable", count=FAILURES)
            for n in range(FAILURES):
                with pytest.raises(ProviderUnavailable):
                    await embedder.embed([f"failing {n}"])
            for _ in range(100):  # the circuit half-opens after its second
                if (await embedder.governor.breaker.state()).state == "half_open":
                    break
                await asyncio.sleep(0.05)
            stub.script("slow", seconds=2.0)
            probe = asyncio.create_task(embedder.embed(["the probe"]))
            while not stub.in_flight:
                await asyncio.sleep(0.01)
            other.stdin.write(b"go\n")
            answer, errors = await other.communicate()
            during_probe = len(stub.arrivals)
            await probe
            closed = await embedder.governor.breaker.state()
        finally:
            await embedder.aclose()

    assert other.returncode == 0, errors.decode()[-2000:]
    assert answer.decode().startswith("REFUSED the circuit of gemini-embedding-001 is open (a probe call")
    assert during_probe == FAILURES + 1 and closed.state == "closed"
