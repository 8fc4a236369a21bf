"""Ingestion benchmark: the shared books imported end to end, beside the embedding-only
throughput of the same chunks with the same model, measured in the same run.

    python -m bench.ingest [--books DIR] [--rounds N] [--json]

Reports pages/s end to end (the CLI, as an operator runs it, in a fresh data directory),
pages/s of embedding the same chunks alone (the pipeline's practical limit), their ratio,
the import's peak RSS, and the time of a second, no-op import of the same books.

The machine's speed drifts by tens of percent from minute to minute, so each of ``--rounds``
rounds runs an import and the embedding-only baseline back to back, and the report gives
per-round figures and their medians. CPU seconds (user + system, the reader processes
included) are reported beside wall seconds: they drift less, and their ratio is the best
wall-time ratio the import could reach on fully used cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

DEFAULT_BOOKS = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "pdfs" / "books"


@dataclass
class CliImport:
    summary: dict[str, Any]
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float  # of every child so far (the largest is the importing process)


def import_command(books: list[Path], data_dir: Path) -> tuple[list[str], dict[str, str]]:
    """The command and environment of ``cognition import BOOKS --json`` into ``data_dir``."""
    env = {**os.environ, "COGNITION_DATA_DIR": str(data_dir)}
    return [sys.executable, "-m", "cli.main", "import", *map(str, books), "--dataset", "books", "--json"], env


def run_cli_import(books: list[Path], data_dir: Path) -> CliImport:
    """One ``cognition import --json`` in a child process."""
    command, env = import_command(books, data_dir)
    cpu_before = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return CliImport(summary, wall, _cpu(resource.RUSAGE_CHILDREN) - cpu_before, usage.ru_maxrss / 1024)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def embedding_only(books: list[Path], data_dir: Path) -> dict[str, float]:
    """Chunk the same books the same way and embed only the chunk texts."""
    from cognition.embedding.local import LocalEmbedder
    from cognition.paths import DataPaths
    from cognition.settings import Settings
    from ingest.chunking import chunk_pages
    from ingest.pdf import iter_pages, open_book

    settings = Settings(data_dir=data_dir)
    texts: list[str] = []
    pages = 0
    read_started = time.perf_counter()
    for path in books:
        book = open_book(path)
        pages += book.page_count
        sizes = settings.chunking
        texts += [
            c.text
            for c in chunk_pages(iter_pages(book), book.outline, sizes.target_words, sizes.overlap_words)
        ]
    read_seconds = time.perf_counter() - read_started
    embedder = LocalEmbedder(settings.embedding, DataPaths.of(settings).models)
    cpu_before = _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    embedder.embed_sync(texts)
    seconds = time.perf_counter() - started
    return {
        "pages": pages,
        "chunks": len(texts),
        "embed_seconds": seconds,
        "embed_cpu_seconds": _cpu(resource.RUSAGE_SELF) - cpu_before,
        "read_chunk_seconds": read_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument("--rounds", type=_positive, default=1, help="import + baseline pairs (default 1)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    books = sorted(args.books.glob("*.pdf"))
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="cognition-bench-ingest-") as tmp:
        data_dir = Path(tmp)
        for n in range(args.rounds):
            first = run_cli_import(books, data_dir / f"import-{n}")
            if n == 0:
                second = run_cli_import(books, data_dir / "import-0")
            embed = embedding_only(books, data_dir / f"embed-{n}")
            rounds.append(
                {
                    "import_wall_seconds": round(first.wall_seconds, 1),
                    "import_cpu_seconds": round(first.cpu_seconds, 1),
                    "import_pipeline_seconds": float(first.summary["seconds"]),
                    "embedding_only_seconds": round(embed["embed_seconds"], 1),
                    "embedding_only_cpu_seconds": round(embed["embed_cpu_seconds"], 1),
                    "ratio_import_to_embedding": round(embed["embed_seconds"] / first.wall_seconds, 3),
                    "cpu_ratio": round(embed["embed_cpu_seconds"] / first.cpu_seconds, 3),
                    "pdf_read_and_chunk_seconds": round(embed["read_chunk_seconds"], 1),
                }
            )
    pages = first.summary["pages"]
    middle = {key: median(r[key] for r in rounds) for key in rounds[0]}
    report = {
        "books": [b.name for b in books],
        "pages": pages,
        "chunks": first.summary["chunks"],
        "rounds": len(rounds),
        **{key: round(value, 3) for key, value in middle.items()},
        "import_pages_per_s": round(pages / middle["import_wall_seconds"], 2),
        "embedding_only_pages_per_s": round(pages / middle["embedding_only_seconds"], 2),
        "peak_rss_mb": round(first.peak_rss_mb),
        "noop_wall_seconds": round(second.wall_seconds, 2),
        "noop_added": second.summary["added"],
        "noop_share_of_first": round(second.wall_seconds / rounds[0]["import_wall_seconds"], 4),
        "per_round": rounds,
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
