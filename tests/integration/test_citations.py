"""Citations a person can follow, and one ranking across datasets (issue 10, part 6).

A real book excerpt (The Linux Command Line, PDF pages 55-85 of the book: printed pages 31-61,
so the excerpt's page p is printed page p + 30) goes into one dataset, the shared
documentation site's Wandb Config page and the pages it links to (crawled from 127.0.0.1)
into another. Searching both for "how do I enable wandb experiment tracking" once ranked
a Linux Command Line chunk (cosine 0.14) above the Wandb Config page (cosine 0.58): each
dataset's personalized PageRank mass was compared as if it were one graph's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pytest_asyncio

from bench.sites import serve_site
from cognition.runtime import Runtime
from cognition.search import Searcher
from cognition.settings import CrawlSettings
from cognition.store.port import Store
from ingest.importer import Importer
from ingest.service import run_crawl
from tests.helpers import BOOKS, CliRunner, new_dataset_name, write_excerpt

WANDB_QUERY = "how do I enable wandb experiment tracking"
FIRST_PAGE = 55  # of the book; printed page 31
PRINTED_OFFSET = 30  # the excerpt's page p is the book's page p + 54, printed p + 54 - 24


@dataclass(frozen=True)
class TwoDatasets:
    library: str
    docs: str
    wandb_url: str
    data_dir: Path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two(runtime: Runtime, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TwoDatasets]:
    """The book excerpt in one dataset, eight pages of the docs site from Wandb Config in another."""
    library, docs = new_dataset_name("library"), new_dataset_name("docs")
    pdf = write_excerpt(
        BOOKS / "TLCL-19.01.pdf",
        range(FIRST_PAGE, FIRST_PAGE + 31),
        tmp_path_factory.mktemp("tlcl") / "tlcl-excerpt.pdf",
        "The Linux Command Line",
    )
    summary = await Importer(runtime).import_paths([pdf], library)
    assert summary.to_json()["added"] == 1
    crawl = CrawlSettings(allow_networks=["127.0.0.0/8"], delay_seconds=0, max_depth=10, max_pages=8)
    local = replace(runtime, settings=runtime.settings.model_copy(update={"crawl": crawl}))
    with serve_site() as site:
        wandb = site.url("/config/wandb_config/")
        crawled = (await run_crawl(local, [wandb], docs)).to_json()
    assert crawled["added"] == 8
    yield TwoDatasets(library, docs, wandb, runtime.settings.data_dir)


async def test_hybrid_search_over_two_datasets_ranks_the_exact_match_first(
    searcher: Searcher, two: TwoDatasets
) -> None:
    hits = await searcher.search(WANDB_QUERY, [two.library, two.docs], "hybrid", 5)

    assert (hits[0].dataset, hits[0].document_title, hits[0].source) == (
        two.docs,
        "Wandb Config - GFM-RAG",
        two.wandb_url,
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


async def test_merging_keeps_each_datasets_own_order(searcher: Searcher, two: TwoDatasets) -> None:
    names = (two.library, two.docs)
    alone = {name: await searcher.search(WANDB_QUERY, [name], "hybrid", 10) for name in names}
    merged = await searcher.search(WANDB_QUERY, list(names), "hybrid", 10)

    for name, hits in alone.items():
        mine = [h.chunk_id for h in merged if h.dataset == name]
        assert mine == [h.chunk_id for h in hits][: len(mine)]  # a prefix of its own ranking
    assert {h.dataset for h in merged} == {two.library, two.docs}


async def test_a_book_hit_carries_its_printed_page_numbers(searcher: Searcher, two: TwoDatasets) -> None:
    hits = await searcher.search("redirect standard error to a file", [two.library], "vector", 5)

    assert hits
    for hit in hits:
        assert (hit.page_label_start, hit.page_label_end) == (
            str(hit.page_start + PRINTED_OFFSET),
            str(hit.page_end + PRINTED_OFFSET),
        )
        data = hit.to_json()
        assert data["page_label_start"] == hit.page_label_start
        assert data["page_label_end"] == hit.page_label_end
        assert hit.document_title == "The Linux Command Line"


async def test_a_web_hit_has_no_printed_page(searcher: Searcher, two: TwoDatasets) -> None:
    hits = await searcher.search(WANDB_QUERY, [two.docs], "hybrid", 3)

    assert hits and all(h.page_labels is None and h.to_json()["page_label_start"] is None for h in hits)


def test_the_cli_cites_a_web_hit_by_url_and_a_book_hit_by_printed_and_pdf_page(
    run_cli: CliRunner, two: TwoDatasets
) -> None:
    datasets = ("-d", two.library, "-d", two.docs)
    done = run_cli("search", WANDB_QUERY, *datasets, "-k", "10", data_dir=two.data_dir)

    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if re.match(r"\d+\. \[", line)]
    web = [line for line in lines if f"[{two.docs}]" in line]
    books = [line for line in lines if f"[{two.library}]" in line]
    assert lines[0].startswith(f"1. [{two.docs}] Wandb Config - GFM-RAG — ")
    assert f" — {two.wandb_url}  score " in lines[0]
    assert web and books, done.stdout
    assert all(re.search(r" — http://127\.0\.0\.1:\d+/\S*  score ", line) for line in web)
    assert not any("p. " in line for line in web)
    for line in books:
        cited = re.search(r" — pp?\. (\d+)(?:-(\d+))?, PDF pages? (\d+)(?:-(\d+))?  score ", line)
        assert cited, line
        printed, pdf = cited.group(1), cited.group(3)
        assert int(printed) == int(pdf) + PRINTED_OFFSET
        assert line.startswith(tuple(f"{n}. [{two.library}] The Linux Command Line — " for n in range(1, 11)))


async def test_chunks_read_from_the_graph_carry_their_printed_pages_too(
    store: Store, two: TwoDatasets
) -> None:
    graph = await store.graph(two.library)
    mentioned = await store.chunks_mentioning(two.library, graph.entity_ids[0], 5)

    assert mentioned
    for chunk in mentioned:
        assert chunk.page_label_start == str(chunk.page_start + PRINTED_OFFSET)
        assert chunk.page_label_end == str(chunk.page_end + PRINTED_OFFSET)
