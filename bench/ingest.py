"""Ingestion benchmark: the shared books imported end to end, beside the embedding-only
throughput of the same chunks with the same model, measured in the same run.

    python -m bench.ingest [--books DIR] [--json]

Reports pages/s end to end (the CLI, as an operator runs it, in a fresh data directory),
pages/s of embedding the same chunks alone (the pipeline's practical limit), their ratio,
the import's peak RSS, and the time of a second, no-op import of the same books.
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
from pathlib import Path
from typing import Any

DEFAULT_BOOKS = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "pdfs" / "books"


def run_cli_import(books: list[Path], data_dir: Path) -> tuple[dict[str, Any], float, float]:
    """One ``cognition import --json`` in a child process: summary, wall seconds, peak RSS (MB)."""
    env = {**os.environ, "COGNITION_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "cli.main", "import", *map(str, books), "--dataset", "books", "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary, wall, max(peak, before) / 1024


def embedding_only(books: list[Path], data_dir: Path) -> dict[str, float]:
    """Chunk the same books the same way and embed only the chunk texts."""
    from cognition.embedding.engine import LocalEmbedder
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
    embedder = LocalEmbedder(settings)
    started = time.perf_counter()
    embedder.embed(texts)
    seconds = time.perf_counter() - started
    return {
        "pages": pages,
        "chunks": len(texts),
        "embed_seconds": seconds,
        "read_chunk_seconds": read_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    books = sorted(args.books.glob("*.pdf"))
    with tempfile.TemporaryDirectory(prefix="cognition-bench-ingest-") as tmp:
        data_dir = Path(tmp)
        first, first_wall, peak_mb = run_cli_import(books, data_dir / "import")
        second, second_wall, _ = run_cli_import(books, data_dir / "import")
        embed = embedding_only(books, data_dir / "embed")
    pages = first["pages"]
    report = {
        "books": [b.name for b in books],
        "pages": pages,
        "chunks": first["chunks"],
        "import_wall_seconds": round(first_wall, 1),
        "import_pipeline_seconds": first["seconds"],
        "import_pages_per_s": round(pages / first_wall, 2),
        "embedding_only_seconds": round(embed["embed_seconds"], 1),
        "embedding_only_pages_per_s": round(embed["pages"] / embed["embed_seconds"], 2),
        "ratio_import_to_embedding": round(embed["embed_seconds"] / first_wall, 3),
        "pdf_read_and_chunk_seconds": round(embed["read_chunk_seconds"], 1),
        "peak_rss_mb": round(peak_mb),
        "noop_wall_seconds": round(second_wall, 2),
        "noop_added": second["added"],
        "noop_share_of_first": round(second_wall / first_wall, 4),
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
