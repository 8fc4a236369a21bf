"""Hits of several datasets merged by a comparable score, and how a hit is cited."""

from __future__ import annotations

import pytest

import cognition.search as search
from cli.main import _citation
from cognition.search import Hit


def hit(score: float, dataset: str = "a", **fields: object) -> Hit:
    base: dict[str, object] = {
        "dataset": dataset,
        "chunk_id": f"{dataset}-{score}",
        "document_id": "d",
        "document_title": "T",
        "source": "/books/t.pdf",
        "section_path": (),
        "page_start": 81,
        "page_end": 81,
        "text": "",
        "score": score,
    }
    base.update(fields)
    return Hit(**base)  # type: ignore[arg-type]


def test_a_small_graphs_concentrated_mass_no_longer_outranks_a_close_match() -> None:
    # PPR mass 0.10 in a small unrelated graph, 0.09 for the exact match in a larger one
    small = [(hit(0.10, "books"), 0.15), (hit(0.09, "books"), 0.13)]
    large = [(hit(0.09, "docs"), 0.58), (hit(0.02, "docs"), 0.50)]
    search._comparable(small)
    search._comparable(large)

    merged = sorted([h for h, _ in small + large], key=lambda h: -h.score)

    assert [(h.dataset, round(h.score, 3)) for h in merged] == [
        ("docs", 0.664),  # 0.8 * 0.58 + 0.2 * 1
        ("docs", 0.444),  # 0.8 * 0.50 + 0.2 * 0.02 / 0.09
        ("books", 0.32),
        ("books", 0.284),
    ]


def test_scores_never_rise_down_a_datasets_list_so_its_order_is_kept() -> None:
    # the graph ranks a weak match first; a strong match third lifts the two above it
    candidates = [(hit(0.3), 0.20), (hit(0.2), 0.25), (hit(0.1), 0.70), (hit(0.05), 0.10)]

    search._comparable(candidates)

    scores = [h.score for h, _ in candidates]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == scores[1] == scores[2] == pytest.approx(0.8 * 0.70 + 0.2 * 0.1 / 0.3)


@pytest.mark.parametrize(
    ("fields", "cited"),
    [
        (
            {"source": "https://docs.example.org/config/wandb/", "page_start": 1, "page_end": 1},
            "https://docs.example.org/config/wandb/",
        ),
        ({"page_label_start": "57", "page_label_end": "57"}, "p. 57, PDF page 81"),
        ({"page_end": 82, "page_label_start": "57", "page_label_end": "58"}, "pp. 57-58, PDF pages 81-82"),
        ({}, "p. 81"),
        ({"page_end": 82}, "pp. 81-82"),
        (
            {"page_start": 3, "page_end": 4, "page_label_start": None, "page_label_end": "4a"},
            "pp. 3-4a, PDF pages 3-4",
        ),
    ],
)
def test_a_hit_is_cited_by_url_or_by_printed_and_pdf_page(fields: dict[str, object], cited: str) -> None:
    assert _citation(hit(0.5, **fields)) == cited
