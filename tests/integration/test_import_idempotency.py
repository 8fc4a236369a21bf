"""Importing is idempotent: the same bytes are stored once; a changed file replaces its
older version completely."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.search import MODES, Searcher
from cognition.settings import Settings
from cognition.store.port import Store
from ingest.importer import Importer
from tests.helpers import GIT_INTERNALS_PAGES, ImportedBook, new_dataset_name, sha256_of

pytestmark = pytest.mark.slow


async def test_first_import_stores_the_whole_book(git_internals: ImportedBook, ledger: Ledger) -> None:
    summary, stats = git_internals.summary, git_internals.stats
    [record] = ledger.documents(git_internals.dataset)

    assert (summary["added"], summary["skipped"], summary["replaced"]) == (1, 0, 0)
    assert summary["failed"] == [] and summary["needs_ocr"] == []
    assert summary["pages"] == GIT_INTERNALS_PAGES
    assert stats.documents == 1
    assert stats.chunks == summary["chunks"] == record.chunks > 100
    assert stats.chunk_vectors == stats.chunks  # every chunk is embedded ...
    assert stats.entity_vectors == 0  # ... and nothing else (entities are linked by their words)
    assert stats.entities == record.entities > 0
    assert (record.state, record.attempts, record.pages) == ("stored", 1, GIT_INTERNALS_PAGES)
    assert record.content_hash == sha256_of(git_internals.path)


async def test_second_import_of_the_same_file_adds_nothing(
    git_internals: ImportedBook, importer: Importer, store: Store, ledger: Ledger
) -> None:
    again = (await importer.import_paths([git_internals.path], git_internals.dataset)).to_json()

    assert (again["added"], again["skipped"], again["replaced"]) == (0, 1, 0)
    assert (again["pages"], again["chunks"]) == (0, 0)
    assert await store.stats(git_internals.dataset) == git_internals.stats
    assert [(r.state, r.attempts) for r in ledger.documents(git_internals.dataset)] == [("stored", 1)]


async def test_the_same_bytes_under_another_name_are_skipped(
    git_internals: ImportedBook, importer: Importer, store: Store, tmp_path: Path
) -> None:
    copy = tmp_path / "renamed-copy.pdf"
    shutil.copy(git_internals.path, copy)

    again = (await importer.import_paths([copy], git_internals.dataset)).to_json()

    assert (again["added"], again["skipped"]) == (0, 1)
    assert await store.stats(git_internals.dataset) == git_internals.stats


async def test_a_folder_import_finds_the_pdfs_inside_and_skips_known_ones(
    importer: Importer, excerpts: dict[str, Path], tmp_path: Path, dataset_name: str
) -> None:
    folder = tmp_path / "library" / "nested"
    folder.mkdir(parents=True)
    shutil.copy(excerpts["git_objects"], folder / "a.pdf")
    shutil.copy(excerpts["bash_expansion"], tmp_path / "library" / "b.pdf")
    (tmp_path / "library" / "ignored.docx").write_bytes(b"PK\x03\x04 not a pdf and not imported")

    first = (await importer.import_paths([tmp_path / "library"], dataset_name)).to_json()
    second = (await importer.import_paths([tmp_path / "library"], dataset_name)).to_json()

    assert (first["added"], first["failed"]) == (2, [])
    assert (second["added"], second["skipped"]) == (0, 2)


async def test_the_same_bytes_twice_in_one_import_are_stored_once(
    importer: Importer,
    store: Store,
    ledger: Ledger,
    excerpts: dict[str, Path],
    tmp_path: Path,
    dataset_name: str,
) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b-same-bytes.pdf"
    shutil.copy(excerpts["git_objects"], first)
    shutil.copy(excerpts["git_objects"], second)
    alone = new_dataset_name("alone")

    both = await importer.import_paths([first, second], dataset_name)
    reference = (await importer.import_paths([first], alone)).to_json()

    assert [(o.path, o.status, o.reason) for o in both.outcomes] == [
        (str(second.resolve()), "skipped", f"same content as {first.resolve()}"),
        (str(first.resolve()), "added", None),
    ]
    assert both.to_json()["chunks"] == reference["chunks"] != 0
    assert await store.stats(dataset_name) == await store.stats(alone)
    assert [(r.source, r.state) for r in ledger.documents(dataset_name)] == [(str(first.resolve()), "stored")]


async def test_documents_prepared_two_at_a_time_give_the_dataset_one_at_a_time_gives(
    runtime: Runtime,
    settings: Settings,
    store: Store,
    ledger: Ledger,
    excerpts: dict[str, Path],
    tmp_path: Path,
) -> None:
    paths = [excerpts["git_objects"], excerpts["bash_expansion"], tmp_path / "notes.md"]
    paths[2].write_text("# Notes\n\nGit stores blobs and trees; Bash expands ${name} parameters.\n")
    results = {}
    for concurrency in (1, 2):
        tuned = settings.model_copy(
            update={"imports": settings.imports.model_copy(update={"concurrency": concurrency})}
        )
        dataset = new_dataset_name(f"concurrency{concurrency}")
        summary = (await Importer(replace(runtime, settings=tuned)).import_paths(paths, dataset)).to_json()
        rows = ledger.documents(dataset)
        results[concurrency] = (
            summary,
            await store.stats(dataset),
            sorted((r.source, r.chunks) for r in rows),
        )
        assert (summary["added"], summary["failed"]) == (3, [])
        assert {r.state for r in rows} == {"stored"}

    (one_summary, one_stats, one_rows), (two_summary, two_stats, two_rows) = results[1], results[2]
    assert two_stats == one_stats and two_stats.documents == 3
    assert two_rows == one_rows
    assert (two_summary["pages"], two_summary["chunks"]) == (one_summary["pages"], one_summary["chunks"])


@dataclass(frozen=True)
class Replaced:
    path: Path
    dataset: str
    first: dict[str, Any]
    second: dict[str, Any]
    old_chunk_ids: set[str]
    old_texts: set[str]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def replaced(
    runtime: Runtime,
    searcher: Searcher,
    excerpts: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Replaced:
    """One path imported, then overwritten with other content and imported again."""
    importer = Importer(runtime)
    dataset = new_dataset_name("replace")
    path = tmp_path_factory.mktemp("replace") / "book.pdf"
    shutil.copy(excerpts["git_objects"], path)
    first = (await importer.import_paths([path], dataset)).to_json()
    old_hits = await searcher.search("git blob tree object", [dataset], "vector", 100)
    shutil.copy(excerpts["bash_expansion"], path)
    second = (await importer.import_paths([path], dataset)).to_json()
    return Replaced(path, dataset, first, second, {h.chunk_id for h in old_hits}, {h.text for h in old_hits})


async def test_a_changed_file_at_the_same_path_is_replaced(replaced: Replaced, ledger: Ledger) -> None:
    records = ledger.documents(replaced.dataset)

    assert replaced.first["added"] == 1
    assert (replaced.second["added"], replaced.second["replaced"], replaced.second["skipped"]) == (0, 1, 0)
    assert [(r.state, r.title, r.source, r.content_hash) for r in records] == [
        ("stored", "Bash parameter expansion", str(replaced.path.resolve()), sha256_of(replaced.path))
    ]


async def test_the_replaced_documents_chunks_are_gone_from_search(
    replaced: Replaced, searcher: Searcher
) -> None:
    assert replaced.old_chunk_ids  # the old version was searchable

    for mode in MODES:
        hits = await searcher.search("git blob tree object", [replaced.dataset], mode, 50)
        assert hits, mode
        assert not {h.chunk_id for h in hits} & replaced.old_chunk_ids, mode
        assert not {h.text for h in hits} & replaced.old_texts, mode
        assert {h.document_title for h in hits} == {"Bash parameter expansion"}, mode


async def test_after_a_replace_the_dataset_equals_a_clean_import_of_the_new_file(
    replaced: Replaced, importer: Importer, store: Store, excerpts: dict[str, Path]
) -> None:
    clean = new_dataset_name("clean-bash")
    await importer.import_paths([excerpts["bash_expansion"]], clean)

    after = await store.stats(replaced.dataset)
    expected = await store.stats(clean)

    assert after.documents == 1
    assert after.chunks == replaced.second["chunks"]
    assert dataclasses.asdict(after) == dataclasses.asdict(expected)


async def test_reimporting_the_replacement_is_skipped(replaced: Replaced, importer: Importer) -> None:
    again = (await importer.import_paths([replaced.path], replaced.dataset)).to_json()

    assert (again["added"], again["replaced"], again["skipped"]) == (0, 0, 1)
