"""Datasets: manifests import into their dataset, datasets never see each other's content,
and a dataset that does not exist is an error that says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_asyncio

from cognition.errors import CognitionError, DatasetNotFoundError, InvalidDatasetName, ManifestError
from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.search import MODES, Searcher
from cognition.store.port import Store
from ingest.importer import Importer
from ingest.manifest import expand_paths, load_manifest
from ingest.service import run_import
from tests.helpers import BOOKS, REPO_ROOT, ImportedBook, new_dataset_name

GIT_QUESTION = "how does git store a commit object"
BASH_QUESTION = "parameter expansion with a default value"


def write_manifest(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndescription = "Test library."\n{body}')
    return path


# --------------------------------------------------------------------------- manifests


def test_the_shipped_books_manifest_names_the_bench_books(bench: Path) -> None:
    manifest = load_manifest(REPO_ROOT / "datasets" / "books.toml")
    [source] = manifest.sources

    assert manifest.name == "books"
    assert source.kind == "pdf"
    found = expand_paths(source.paths, manifest.base_dir, source.kind)
    assert [p.resolve() for p in found] == sorted(BOOKS.glob("*.pdf"))


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "datasets").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_manifest_is_valid_and_named_after_its_file(path: Path) -> None:
    manifest = load_manifest(path)

    assert manifest.name == path.stem
    assert manifest.description
    assert manifest.sources


async def test_a_manifest_imports_into_its_own_dataset(
    runtime: Runtime,
    store: Store,
    ledger: Ledger,
    searcher: Searcher,
    excerpts: dict[str, Path],
    tmp_path: Path,
) -> None:
    name = new_dataset_name("manifest")
    (tmp_path / "pdfs").mkdir()
    shutil.copy(excerpts["git_objects"], tmp_path / "pdfs" / "git-objects.pdf")
    manifest = write_manifest(tmp_path, name, '[[sources]]\nkind = "pdf"\npaths = ["pdfs/*.pdf"]\n')

    summary = (await run_import(runtime, [manifest], None)).to_json()
    hits = await searcher.search(GIT_QUESTION, [name], "vector", 3)

    assert (summary["dataset"], summary["added"], summary["failed"]) == (name, 1, [])
    assert [(r.state, r.title) for r in ledger.documents(name)] == [("stored", "Git objects")]
    assert name in ledger.datasets()
    assert name in await store.list_datasets()
    assert hits and all(h.source == str(tmp_path / "pdfs" / "git-objects.pdf") for h in hits)


async def test_a_dataset_option_renames_the_manifests_dataset(
    runtime: Runtime, ledger: Ledger, excerpts: dict[str, Path], tmp_path: Path
) -> None:
    name, other = new_dataset_name("manifest"), new_dataset_name("renamed")
    manifest = write_manifest(
        tmp_path,
        name,
        f'allow_outside = true\n[[sources]]\nkind = "pdf"\npaths = ["{excerpts["bash_expansion"]}"]\n',
    )

    summary = (await run_import(runtime, [manifest], other)).to_json()

    assert (summary["dataset"], summary["added"]) == (other, 1)
    assert ledger.documents(name) == []
    assert [r.state for r in ledger.documents(other)] == ["stored"]


async def test_manifest_paths_that_match_nothing_and_blocked_crawl_seeds_are_reported(
    runtime: Runtime, tmp_path: Path
) -> None:
    name = new_dataset_name("manifest")
    manifest = write_manifest(
        tmp_path,
        name,
        '[[sources]]\nkind = "pdf"\npaths = ["missing/book.pdf"]\n\n'
        '[[sources]]\nkind = "crawl"\nseeds = ["http://127.0.0.1:9/index.html"]\n',
    )

    failed = (await run_import(runtime, [manifest], None)).to_json()["failed"]

    assert failed == [
        {
            "path": str(tmp_path / "missing" / "book.pdf"),
            "reason": f"unreadable path: {tmp_path / 'missing' / 'book.pdf'} does not exist or is not a file",
        },
        {
            "path": "http://127.0.0.1:9/index.html",
            "reason": "blocked: 127.0.0.1 is a loopback address "
            "(allow it with COGNITION_CRAWL__ALLOW_NETWORKS)",
        },
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "broken\n', "is not valid TOML"),
        ('name = "ok"\n[[sources]]\nkind = "ftp"\n', "is invalid"),
    ],
)
def test_an_unusable_manifest_is_refused_saying_why(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)

    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_a_manifest_with_an_invalid_dataset_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "Not A Name!"\n')

    with pytest.raises(CognitionError, match="invalid dataset name 'Not A Name!': use 1-63 lowercase"):
        load_manifest(path)


async def test_an_invalid_dataset_name_is_refused(importer: Importer, excerpts: dict[str, Path]) -> None:
    with pytest.raises(InvalidDatasetName, match="invalid dataset name 'My Books'"):
        await importer.import_paths([excerpts["git_objects"]], "My Books")


# --------------------------------------------------------------------------- isolation


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bash_dataset(runtime: Runtime, excerpts: dict[str, Path]) -> str:
    """A second dataset, about bash, beside the git book."""
    name = new_dataset_name("bash")
    summary = await Importer(runtime).import_paths([excerpts["bash_expansion"]], name)
    assert summary.to_json()["added"] == 1
    return name


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
async def test_no_search_of_one_dataset_returns_anothers_content(
    git_internals: ImportedBook, bash_dataset: str, excerpts: dict[str, Path], searcher: Searcher, mode: str
) -> None:
    git_source, bash_source = str(git_internals.path.resolve()), str(excerpts["bash_expansion"].resolve())
    results = {}
    for dataset in (git_internals.dataset, bash_dataset):
        for question in (GIT_QUESTION, BASH_QUESTION):
            results[dataset, question] = await searcher.search(question, [dataset], mode, 20)

    git_hits = results[git_internals.dataset, GIT_QUESTION] + results[git_internals.dataset, BASH_QUESTION]
    bash_hits = results[bash_dataset, GIT_QUESTION] + results[bash_dataset, BASH_QUESTION]
    assert git_hits and bash_hits
    assert {(h.dataset, h.source, h.document_title) for h in git_hits} == {
        (git_internals.dataset, git_source, "Git Internals")
    }
    assert {(h.dataset, h.source, h.document_title) for h in bash_hits} == {
        (bash_dataset, bash_source, "Bash parameter expansion")
    }
    assert not {h.text for h in git_hits} & {h.text for h in bash_hits}
    assert not {h.chunk_id for h in git_hits} & {h.chunk_id for h in bash_hits}


@pytest.mark.slow
async def test_a_search_of_two_datasets_keeps_each_hit_with_its_own_dataset(
    git_internals: ImportedBook, bash_dataset: str, excerpts: dict[str, Path], searcher: Searcher
) -> None:
    sources = {
        git_internals.dataset: str(git_internals.path.resolve()),
        bash_dataset: str(excerpts["bash_expansion"].resolve()),
    }

    hits = []
    for question in (GIT_QUESTION, BASH_QUESTION):
        hits += await searcher.search(question, [git_internals.dataset, bash_dataset], "hybrid", 20)

    assert {h.dataset for h in hits} == set(sources)
    assert all(h.source == sources[h.dataset] for h in hits)


@pytest.mark.slow
async def test_datasets_keep_their_own_counts(
    git_internals: ImportedBook, bash_dataset: str, store: Store, ledger: Ledger
) -> None:
    bash = await store.stats(bash_dataset)

    assert bash.documents == 1
    assert bash.chunks == ledger.documents(bash_dataset)[0].chunks < git_internals.stats.chunks
    assert await store.stats(git_internals.dataset) == git_internals.stats


# --------------------------------------------------------------------------- missing datasets


async def test_searching_a_missing_dataset_fails_naming_it(searcher: Searcher) -> None:
    with pytest.raises(DatasetNotFoundError) as error:
        await searcher.search(GIT_QUESTION, ["no-such-dataset"], "vector", 5)

    assert str(error.value) == "dataset not found: 'no-such-dataset'"


@pytest.mark.slow
async def test_one_missing_dataset_fails_the_whole_search(
    git_internals: ImportedBook, searcher: Searcher
) -> None:
    with pytest.raises(DatasetNotFoundError, match="dataset not found: 'no-such-dataset'"):
        await searcher.search(GIT_QUESTION, [git_internals.dataset, "no-such-dataset"], "hybrid", 5)


async def test_stats_of_a_missing_dataset_fail_naming_it(store: Store) -> None:
    with pytest.raises(DatasetNotFoundError, match="dataset not found: 'no-such-dataset'"):
        await store.stats("no-such-dataset")
