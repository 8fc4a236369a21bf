"""Workers on Postgres + Ladybug: 1 vs 2 worker processes on the shared books, in the same run,
and what coordinating them costs per document.

    python -m bench.scale [--books DIR] [--json]

Starts a real ``redis-server`` and a throwaway Postgres cluster on 127.0.0.1. For each worker
count, a deployment of its own (fresh data directory, Redis database, ledger database; cognee's
tables in ``<ledger>_cognee`` beside it): submit the books (``cognition import --queue``),
run the workers (``bench.scale_worker``: ``cognition worker --burst`` with its gate and ledger
calls timed) and wait for them. Reported per run:

- pages/s from the first job's start to the last job's finish (worker start-up apart);
- errors: documents not stored, jobs failed, workers that exited non-zero (target zero);
- coordination per document, as a share of the summed pipeline time: waiting for the
  dataset's write gate (Redis lease lock + file lock), ledger calls (Postgres round trips),
  and the queue (Σ job run time − Σ pipeline time, plus the submission). The ledger calls a
  job makes outside the pipeline are in both the ledger's and the queue's figure, so the sum
  is an upper bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.postgres_server import PostgresServer
from bench.queue import DEFAULT_BOOKS, ROOT, _env, _results
from bench.redis_server import RedisServer
from cognition.ledger.postgres import PostgresLedger


def run(paths: list[Path], workers: int, redis_url: str, ledger_url: str, root: Path) -> dict[str, Any]:
    data_dir, queue, dataset = root / f"data-{workers}", f"bench:scale:{workers}", "bench"
    env = _env(data_dir, redis_url, queue, {p.resolve().parent for p in paths})
    env["COGNITION_LEDGER__URL"] = ledger_url
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "import",
            *map(str, paths),
            "-d",
            dataset,
            "--queue",
            "--no-follow",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    submit_seconds = time.perf_counter() - started
    launched_at = time.time()
    outs = [root / f"coordination-{workers}-{n}.json" for n in range(workers)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.scale_worker", str(out)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=(root / f"worker-{workers}-{n}.log").open("wb"),
        )
        for n, out in enumerate(outs)
    ]
    codes = [proc.wait() for proc in procs]
    jobs = [r for r in asyncio.run(_results(redis_url, queue)) if r["function"] == "ingest_file"]
    rows = PostgresLedger(SecretStr(ledger_url)).documents(dataset)
    seconds, calls = _coordination(outs)
    pipeline = sum(r.total_seconds for r in rows)
    first, last = min(r["start"] for r in jobs), max(r["finish"] for r in jobs)
    pages = sum(r.pages for r in rows)
    queue_seconds = sum(r["finish"] - r["start"] for r in jobs) - pipeline + submit_seconds
    coordination = seconds["lock_wait"] + seconds["ledger"] + queue_seconds
    return {
        "workers": workers,
        "documents": len(rows),
        "pages": pages,
        "chunks": sum(r.chunks for r in rows),
        "errors": {
            "not_stored": sum(r.state != "stored" for r in rows),
            "jobs_failed": calls["jobs_failed"],
            "workers_nonzero": sum(code != 0 for code in codes),
        },
        "worker_start_seconds": round(first - launched_at, 1),
        "ingest_seconds": round(last - first, 1),
        "pages_per_s": round(pages / (last - first), 2),
        "pipeline_seconds": round(pipeline, 1),
        "lock_wait_seconds": round(seconds["lock_wait"], 2),
        "lock_acquisitions": calls["lock_wait"],
        "lock_held_seconds": round(seconds["lock_held"], 2),  # serialised: the floor of any scale-out
        "ledger_seconds": round(seconds["ledger"], 2),
        "ledger_calls": calls["ledger"],
        "queue_seconds": round(queue_seconds, 2),
        "coordination_share": round(coordination / pipeline, 4),
        "coordination_per_document_s": round(coordination / max(1, len(rows)), 2),
        "shares": {
            "lock_wait": round(seconds["lock_wait"] / pipeline, 4),
            "ledger": round(seconds["ledger"] / pipeline, 4),
            "queue": round(queue_seconds / pipeline, 4),
        },
    }


def _coordination(outs: list[Path]) -> tuple[Counter[str], Counter[str]]:
    seconds: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for out in outs:
        found = json.loads(out.read_text()) if out.exists() else {"seconds": {}, "calls": {}}
        seconds.update(found["seconds"])
        calls.update(found["calls"])
    return seconds, calls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    books = sorted(args.books.glob("*.pdf"))
    report: dict[str, Any] = {"books": [path.name for path in books]}
    with tempfile.TemporaryDirectory(prefix="cognition-bench-scale-") as tmp:
        root = Path(tmp)
        redis, postgres = RedisServer(root / "redis"), PostgresServer()
        redis.start()
        postgres.start()
        try:
            db = redis.url.rsplit("/", 1)[0]
            report["runs"] = [
                run(books, n, f"{db}/{n}", postgres.create_database(f"scale_{n}"), root) for n in (1, 2)
            ]
        finally:
            postgres.stop()
            redis.stop()
    one, two = report["runs"]
    report["speedup_2_vs_1"] = round(two["pages_per_s"] / one["pages_per_s"], 3)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
