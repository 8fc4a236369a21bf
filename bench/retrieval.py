"""Multi-hop retrieval benchmark: Recall@2 / Recall@5 of every search mode next to BM25 and
plain dense retrieval with the same embedding model, all computed in the same run.

    python -m bench.retrieval --corpus CORPUS.json --questions QUESTIONS.json --json

The corpus (items ``{id, title, text}``) is imported as a dataset, each passage a document.
Recall@k follows HippoRAG: the share of a question's gold passages (``gold_passage_ids``)
found among the top k distinct passages, averaged over questions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cognition.embedding.local import LocalEmbedder
from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.records import RecordImporter, TextRecord

DATASET = "multihop"
KS = (2, 5)


def recall(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold passages among the first k distinct passages."""
    top = list(dict.fromkeys(ranked))[:k]
    return sum(1 for g in gold if g in top) / len(gold)


def bm25_rankings(records: list[TextRecord], queries: list[str], depth: int) -> list[list[str]]:
    import bm25s

    corpus = [f"{r.title}\n{r.text}" for r in records]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    docs, _ = retriever.retrieve(
        bm25s.tokenize(queries, stopwords="en", show_progress=False), k=depth, show_progress=False
    )
    return [[records[int(i)].id for i in row] for row in docs]


def dense_rankings(embed: Any, records: list[TextRecord], queries: list[str], depth: int) -> list[list[str]]:
    passages = embed([f"{r.title}\n{r.text}" for r in records])
    scores = embed(queries) @ passages.T
    order = np.argsort(-scores, axis=1)[:, :depth]
    return [[records[int(i)].id for i in row] for row in order]


async def mode_rankings(
    searcher: Any, queries: list[str], mode: str, depth: int
) -> tuple[list[list[str]], float]:
    rankings, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        hits = await searcher.search(query, [DATASET], mode, depth)
        latencies.append(time.perf_counter() - started)
        rankings.append([h.source for h in hits])
    return rankings, statistics.median(latencies)


def score(rankings: list[list[str]], golds: list[list[str]]) -> dict[str, float]:
    return {
        f"R@{k}": round(
            100 * statistics.mean(recall(r, g, k) for r, g in zip(rankings, golds, strict=True)), 1
        )
        for k in KS
    }


async def run(corpus_path: Path, questions_path: Path, data_dir: Path, modes: list[str]) -> dict[str, Any]:
    corpus = json.loads(corpus_path.read_text())
    questions = json.loads(questions_path.read_text())
    records = [TextRecord(str(p["id"]), p.get("title", ""), p["text"]) for p in corpus]
    queries = [q["question"] for q in questions]
    golds = [[str(g) for g in q["gold_passage_ids"]] for q in questions]
    runtime = Runtime.build(Settings(data_dir=data_dir))
    importer = RecordImporter(runtime)
    started = time.perf_counter()
    summary = await importer.import_records(DATASET, records)
    import_seconds = time.perf_counter() - started
    searcher = runtime.searcher
    embedder = runtime.embedder
    assert isinstance(embedder, LocalEmbedder)
    embed = embedder.embed_sync
    depth = 20
    results: dict[str, Any] = {"bm25": score(bm25_rankings(records, queries, depth), golds)}
    results["dense"] = score(dense_rankings(embed, records, queries, depth), golds)
    latency: dict[str, float] = {}
    for mode in modes:
        rankings, median = await mode_rankings(searcher, queries, mode, depth)
        results[mode] = score(rankings, golds)
        latency[mode] = round(median * 1000, 1)
    await runtime.close()
    return {
        "corpus": str(corpus_path),
        "questions": len(questions),
        "passages": len(records),
        "imported": summary.added,
        "import_seconds": round(import_seconds, 1),
        "recall": results,
        "median_query_ms": latency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="reuse an imported corpus (default: a temp dir)"
    )
    parser.add_argument("--modes", default="vector,graph,hybrid")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cognition-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        report = asyncio.run(run(args.corpus, args.questions, data_dir, args.modes.split(",")))
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['corpus']}: {report['questions']} questions, {report['passages']} passages")
    for name, values in report["recall"].items():
        print(f"  {name:8s} R@2 {values['R@2']:5.1f}  R@5 {values['R@5']:5.1f}")


if __name__ == "__main__":
    main()
