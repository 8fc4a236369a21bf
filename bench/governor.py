"""The rate governor against a naive retry loop, on the Gemini stub with a fixed quota.

    python -m bench.governor [--repeat 3] [--out bench/results/governor.json]

Each run starts one stub (a "minute" of ``window`` seconds holding ``per_window`` requests),
one redis-server, and three arms in turn, each a fresh stub and K worker processes
(``bench/governor_worker.py``) that embed the same documents batch by batch:

- ``naive``: the client (retries off) inside tenacity's exponential backoff, the usual code;
- ``governor``: the real embedder from settings, paced by the Redis governor (no query lane);
- ``lane``: the same with ``gemini.query_share`` 0.1 (the default).

Mid-run the stub refuses every call with a per-minute 429 for ``storm_seconds`` (a storm),
and before it the parent times query embeddings while the workers saturate the quota. Per arm:

- documents a minute (from the start signal to the last document's end, storm included);
- 429s: refused by the stub's quota (the waste a pacer avoids) and during the storm, as a
  share of every request the stub received;
- quota use: requests served over the quota's capacity, in the steady phase (from the end of
  the first window to the storm: whole windows) and over the run (the storm's time excluded);
- recovery after the storm: to the first served call, and to full rate (the first served call
  from which the next window holds 90 % of what the arm may send a window);
- query latency while bulk saturates: median and worst of ``queries`` query embeddings.

Medians over ``--repeat`` runs are printed as a table, with the ratios naive/governor; every
run's figures go to the JSON file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from asyncio.subprocess import PIPE
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.gemini_stub import GeminiStub, StubQuota, quota_error
from bench.governor_worker import Config, naive_caller
from bench.redis_server import RedisServer
from cognition.governor import CircuitOpen
from cognition.governor.port import bulk_part
from cognition.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ARMS = {"naive": 0.0, "governor": 0.0, "lane": 0.1}  # arm -> gemini.query_share


class StormStub(GeminiStub):
    """The stub, plus a storm ``storm_after`` seconds after its first served call, and the
    instant of every served request."""

    def __init__(self, config: Config) -> None:
        quota = StubQuota(requests_per_window=config.per_window, window_seconds=config.window)
        super().__init__(quota, latency=config.latency)
        self.config = config
        self.served_at: list[float] = []
        self.storm_from = self.storm_until = float("inf")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.storm_from <= self.now() < self.storm_until:
            await request.read()
            self._count("storm_429")
            model = request.match_info["spec"].partition(":")[0]
            return quota_error(model, "minute", self.quota.requests_per_window, self.config.storm_delay)
        return await super()._handle(request)

    def _count(self, what: str) -> None:
        super()._count(what)
        if what == "served":
            with self._lock:
                now = self.now()
                if not self.served_at:
                    self.storm_from = now + self.config.storm_after
                    self.storm_until = self.storm_from + self.config.storm_seconds
                self.served_at.append(now)


def options(stub: GeminiStub, config: Config, share: float, redis_url: str) -> dict[str, Any]:
    """The settings of a worker (and of the parent's query client) on ``stub``."""
    scale = config.scale
    return {
        "embedding": {"provider": "gemini"},
        "gemini": {
            "api_key": "stub-key",
            "base_url": stub.url,
            "dimensions": 16,
            "batch_size": config.batch,
            "cache": False,  # every batch is a new text: the quota is under test
            "query_share": share,
            # the circuit breaker's times, scaled like the rest (its count is not)
            "breaker_window_seconds": 120 * scale,
            "breaker_open_seconds": 60 * scale,
            "breaker_max_open_seconds": 300 * scale,
            "breaker_probe_seconds": 120 * scale,
            "embedding_quota": {
                "requests_per_minute": config.per_window,
                "window_seconds": config.window,
                "tokens_per_minute": 10_000_000,
                "requests_per_day": 10_000_000,
            },
        },
        "queue": {  # the job layer's backoff, scaled to the stub's minute like everything else
            "redis_url": redis_url,
            "name": f"bench-{uuid.uuid4().hex}",
            "retry_base_seconds": 2 * scale,
            "retry_cap_seconds": 300 * scale,
        },
    }


def environment(settings: dict[str, Any], prefix: str = "COGNITION") -> dict[str, str]:
    """``options`` as the ``COGNITION_*`` variables a worker process reads."""
    env: dict[str, str] = {}
    for key, value in settings.items():
        name = f"{prefix}_{key.upper()}" if prefix == "COGNITION" else f"{prefix}__{key.upper()}"
        if isinstance(value, dict):
            env |= environment(value, name)
        else:
            env[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


async def start_workers(arm: str, config: Config, env: dict[str, str]) -> list[asyncio.subprocess.Process]:
    kind = "naive" if arm == "naive" else "governor"
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.governor_worker",
            kind,
            str(index),
            json.dumps(asdict(config)),
            env=env,
            cwd=ROOT,
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
        )
        for index in range(config.workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 180)
        if line != b"READY\n":
            raise RuntimeError(f"a {arm} worker did not start: {line!r}")
    return procs


async def time_queries(arm: str, stub: StormStub, config: Config, settings: Settings) -> list[float]:
    """Seconds each of ``config.queries`` query embeddings took, sent as independent agents
    would (each at its own time, not waiting for the last) while bulk saturates the quota:
    from the end of the first window to two windows before the storm."""
    if arm == "naive":
        call, close = naive_caller(config, "query", settings)
    else:
        from cognition.paths import DataPaths
        from cognition.runtime import make_embedder

        embedder = make_embedder(settings, DataPaths.of(settings))

        async def call(texts: list[str]) -> None:
            for _ in range(1000):  # an agent told 503 + Retry-After by the API asks again then
                try:
                    await embedder.embed(texts, purpose="query")
                    return
                except CircuitOpen as exc:
                    await asyncio.sleep(max(exc.until - embedder.governor.now(), 0.01))

        close = embedder.aclose  # type: ignore[attr-defined]
    for _ in range(6000):  # bounded: until the first call was served
        if stub.served_at:
            break
        await asyncio.sleep(0.01)
    first = stub.served_at[0]
    spacing = (config.storm_after - 3 * config.window) / config.queries

    async def query(n: int) -> float:
        await asyncio.sleep(max(0.0, first + config.window + n * spacing - stub.now()))
        started = time.perf_counter()
        await call([f"question {n}: what does the governor do?"])
        return time.perf_counter() - started

    try:
        return list(await asyncio.gather(*(query(n) for n in range(config.queries))))
    finally:
        await close()


async def run_arm(arm: str, config: Config, redis_url: str) -> dict[str, Any]:
    stub = StormStub(config)
    with stub:
        settings = options(stub, config, ARMS[arm], redis_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITION_")}
        env |= environment(settings) | {"PYTHONUNBUFFERED": "1"}
        procs = await start_workers(arm, config, env)
        started = time.time()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
        queries = asyncio.create_task(time_queries(arm, stub, config, Settings(**settings)))
        outputs = [await proc.communicate() for proc in procs]
        latencies = await queries
        results = []
        for proc, (out, err) in zip(procs, outputs, strict=True):
            if proc.returncode != 0:
                raise RuntimeError(f"a {arm} worker failed: {err.decode()[-2000:]}")
            results.append(json.loads(out.decode().split("RESULT ")[-1]))
        return measure(arm, config, stub, started, results, latencies)


def measure(
    arm: str,
    config: Config,
    stub: StormStub,
    started: float,
    results: list[dict[str, Any]],
    latencies: list[float],
) -> dict[str, Any]:
    served_at, window, per_window = sorted(stub.served_at), config.window, config.per_window
    served, refused, storm = stub.stats["served"], stub.stats["refused_429"], stub.stats["storm_429"]
    documents = sum(r["documents"] for r in results)
    finished = max((t for r in results for t in r["finished"]), default=started)
    first, last = served_at[0], served_at[-1]
    steady = [t for t in served_at if first + window <= t < stub.storm_from]
    capacity = per_window / window
    arm_cap = bulk_part(per_window, ARMS[arm]) if ARMS[arm] else per_window
    after = [t for t in served_at if t >= stub.storm_until]
    full = next((t for t in after if sum(1 for u in after if t <= u < t + window) >= 0.9 * arm_cap), None)
    stats: dict[str, int] = {}
    for result in results:
        for key, value in result["stats"].items():
            stats[key] = stats.get(key, 0) + value
    return {
        "arm": arm,
        "documents": documents,
        "documents_failed": config.documents - documents,
        "seconds": round(finished - started, 2),
        "documents_per_minute": round(60 * documents / (finished - started), 1),
        "served": served,
        "refused_429": refused,
        "storm_429": storm,
        "wasted_429": refused + storm,
        "wasted_share": round((refused + storm) / (served + refused + storm), 4),
        "quota_429_share": round(refused / (served + refused + storm), 4),
        "quota_use_steady": round(len(steady) / (capacity * (stub.storm_from - first - window)), 4),
        "quota_use_run": round(served / (capacity * (last - first + window - config.storm_seconds)), 4),
        "recovery_first_s": round(after[0] - stub.storm_until, 3) if after else None,
        "recovery_full_s": round(full - stub.storm_until, 3) if full is not None else None,
        "query_median_ms": round(1000 * statistics.median(latencies), 1),
        "query_max_ms": round(1000 * max(latencies), 1),
        "worker_stats": stats,
    }


def median_of(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else None


ROWS = [
    ("documents_per_minute", "documents / min"),
    ("documents_failed", "documents failed"),
    ("served", "requests served"),
    ("refused_429", "429s from the quota"),
    ("storm_429", "429s in the storm"),
    ("wasted_share", "429s / requests"),
    ("quota_use_steady", "quota use, steady"),
    ("quota_use_run", "quota use, run"),
    ("recovery_first_s", "recovery: first call (s)"),
    ("recovery_full_s", "recovery: full rate (s)"),
    ("query_median_ms", "query latency median (ms)"),
    ("query_max_ms", "query latency max (ms)"),
]


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    medians = {arm: {k: median_of([r for r in runs if r["arm"] == arm], k) for k, _ in ROWS} for arm in ARMS}
    naive, governed = medians["naive"], medians["governor"]
    ratios = {
        "wasted_naive_over_governor": _ratio(
            median_of([r for r in runs if r["arm"] == "naive"], "wasted_429"),
            median_of([r for r in runs if r["arm"] == "governor"], "wasted_429"),
        ),
        "documents_per_minute_governor_over_naive": _ratio(
            governed["documents_per_minute"], naive["documents_per_minute"]
        ),
        "query_median_governor_over_lane": _ratio(
            governed["query_median_ms"], medians["lane"]["query_median_ms"]
        ),
    }
    return {"medians": medians, "ratios": ratios}


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return round(a / b, 2) if b else float("inf")


def table(summary: dict[str, Any]) -> str:
    lines = [f"{'median':<28}" + "".join(f"{arm:>12}" for arm in ARMS)]
    for key, label in ROWS:
        cells = [summary["medians"][arm][key] for arm in ARMS]
        percent = key.startswith(("wasted", "quota"))
        lines.append(
            f"{label:<28}"
            + "".join(f"{'-':>12}" if c is None else f"{c:>12.1%}" if percent else f"{c:>12g}" for c in cells)
        )
    lines += [f"{name}: {value}" for name, value in summary["ratios"].items()]
    return "\n".join(lines)


async def bench(config: Config, repeat: int) -> dict[str, Any]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="cognition-bench-governor-") as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        try:
            for number in range(repeat):
                for arm in ARMS:
                    result = await run_arm(arm, config, redis.url)
                    shown = {k: v for k, v in result.items() if k != "worker_stats"}
                    print(f"run {number + 1} {arm}: {json.dumps(shown)}", file=sys.stderr)
                    runs.append({"run": number + 1, **result})
        finally:
            redis.stop()
    return {"config": asdict(config), "runs": runs, **summarize(runs)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "governor.json")
    parser.add_argument(
        "--storm-seconds",
        type=float,
        default=Config.storm_seconds,
        help="how long the stub refuses everything",
    )
    args = parser.parse_args()
    report = asyncio.run(bench(Config(storm_seconds=args.storm_seconds), args.repeat))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
