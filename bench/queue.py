"""Queued import: 1 vs 2 worker processes on the shared books, and the queue's own overhead.

    python -m bench.queue [--books DIR] [--passages N] [--json]

For each worker count, in a fresh data directory and queue on a real redis-server started on
127.0.0.1: submit the books (``cognition import --queue --no-follow``), start the workers
(``cognition worker --burst``) and wait for them. From Arq's job results (start and finish of
every job) and the ledger (each document's pipeline time) it reports:

- pages/s from the first job's start to the last job's finish (worker start-up excluded, and
  reported apart);
- queue overhead: for every document, (job run time − pipeline time) plus its share of the
  submission time, summed, as a share of the summed pipeline time. The time a job waits for
  a free worker is not overhead and is not counted.

``--passages N`` runs the same on N short HotpotQA passages (one document each), where
the fixed cost per document weighs most.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.redis_server import RedisServer
from cognition.ledger import SqliteLedger
from cognition.paths import DataPaths
from cognition.settings import QueueSettings
from workers.queue import connect

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BOOKS = ROOT.parent / "shared" / "bench" / "pdfs" / "books"
CORPUS = ROOT.parent / "shared" / "bench" / "multihop" / "hotpotqa_hipporag_train100" / "corpus.json"


def _env(data_dir: Path, url: str, queue: str, roots: set[Path]) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITION_")}
    env |= {
        "COGNITION_DATA_DIR": str(data_dir),
        "COGNITION_QUEUE__REDIS_URL": url,
        "COGNITION_QUEUE__NAME": queue,
        "COGNITION_QUEUE__POLL_SECONDS": "0.05",
        "COGNITION_QUEUE__IMPORT_ROOTS": ",".join(sorted(map(str, roots))),  # workers read only these
        "PYTHONUNBUFFERED": "1",
    }
    return env


def run(paths: list[Path], workers: int, url: str, root: Path, label: str) -> dict[str, Any]:
    """One deployment: its own data directory and Redis database (job ids are per database)."""
    data_dir, queue, dataset = root / f"{label}-{workers}", f"bench:{label}:{workers}", "bench"
    env = _env(data_dir, url, queue, {p.resolve().parent for p in paths})
    cli = [sys.executable, "-m", "cli.main"]
    started = time.perf_counter()
    submitted = subprocess.run(
        [*cli, "import", *map(str, paths), "--dataset", dataset, "--queue", "--no-follow", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    submit_seconds = time.perf_counter() - started
    answer = json.loads(submitted.stdout.strip().splitlines()[-1])
    launched, launched_at = time.perf_counter(), time.time()
    procs = [
        subprocess.Popen(
            [*cli, "worker", "--burst"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.wait()
    wall = time.perf_counter() - launched
    results = asyncio.run(_results(url, queue))
    rows = SqliteLedger(DataPaths(data_dir).ledger).documents(dataset)
    pipeline = sum(r.total_seconds for r in rows)
    jobs = [r for r in results if r["function"] == "ingest_file"]
    run_time = sum(r["finish"] - r["start"] for r in jobs)
    first_start, last_finish = min(r["start"] for r in jobs), max(r["finish"] for r in jobs)
    pages = sum(r.pages for r in rows)
    overhead = (run_time - pipeline) + submit_seconds
    return {
        "workers": workers,
        "documents": len(rows),
        "stored": sum(r.state == "stored" for r in rows),
        "accepted": answer["accepted"],
        "pages": pages,
        "chunks": sum(r.chunks for r in rows),
        "submit_seconds": round(submit_seconds, 2),
        "worker_start_seconds": round(first_start - launched_at, 1),
        "ingest_seconds": round(last_finish - first_start, 1),
        "workers_wall_seconds": round(wall, 1),
        "pages_per_s": round(pages / (last_finish - first_start), 2),
        "pipeline_seconds": round(pipeline, 1),
        "job_run_seconds": round(run_time, 1),
        "queue_overhead_seconds": round(overhead, 2),
        "queue_overhead_share": round(overhead / pipeline, 4),
        "overhead_per_document_ms": round(1000 * overhead / max(1, len(rows)), 1),
    }


async def _results(url: str, queue: str) -> list[dict[str, Any]]:
    pool = await connect(QueueSettings(redis_url=url, name=queue))
    try:
        return [
            {"function": r.function, "start": r.start_time.timestamp(), "finish": r.finish_time.timestamp()}
            for r in await pool.all_job_results()
            if r.queue_name == queue
        ]
    finally:
        await pool.aclose()


def passages(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for number, item in enumerate(json.loads(CORPUS.read_text())[:count]):
        path = folder / f"{number:04d}.md"
        path.write_text(f"# {item['title']}\n\n{item['text']}\n")
        out.append(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument("--passages", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cognition-bench-queue-") as tmp:
        root = Path(tmp)
        redis = RedisServer(root / "redis")
        redis.start()
        try:
            books = sorted(args.books.glob("*.pdf"))
            db = redis.url.rsplit("/", 1)[0]
            report["books"] = [run(books, n, f"{db}/{n}", root, "books") for n in (1, 2)]
            if args.passages:
                texts = passages(root / "passages", args.passages)
                report["passages"] = [run(texts, n, f"{db}/{2 + n}", root, "passages") for n in (1, 2)]
        finally:
            redis.stop()
    one, two = report["books"]
    report["books_speedup_2_vs_1"] = round(two["pages_per_s"] / one["pages_per_s"], 3)
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
