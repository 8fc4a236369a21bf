"""The ``cognition`` command as people and scripts use it, each run a process of its own on
a data directory of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import (
    BAD,
    CLI_TIMEOUT,
    GIT_INTERNALS,
    REPO_ROOT,
    CliRunner,
    cli_command,
    last_json_line,
    subprocess_env,
    write_excerpt,
)

pytestmark = pytest.mark.slow

HIT_FIELDS = {  # the API's hit (``POST /v1/search``): the CLI prints the same body
    "dataset",
    "document_id",
    "document_title",
    "source",
    "section",
    "page_start",
    "page_end",
    "page_label_start",
    "page_label_end",
    "chunk_id",
    "text",
    "truncated",
    "score",
    "entities",
}


@dataclass(frozen=True)
class CliLibrary:
    data_dir: Path
    good: Path
    broken: dict[str, Path]
    first_import: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def library(bench: Path, tmp_path_factory: pytest.TempPathFactory, run_cli: CliRunner) -> CliLibrary:
    """A fresh data directory where one batch of every bad file and one good PDF was imported."""
    folder = tmp_path_factory.mktemp("cli-files")
    good = write_excerpt(GIT_INTERNALS, range(13, 23), folder / "git-objects.pdf", "Git objects")
    broken = {"text": folder / "notes.pdf", "empty": folder / "empty.pdf", "missing": folder / "missing.pdf"}
    broken["text"].write_text("meeting notes, not a PDF\n")
    broken["empty"].write_bytes(b"")
    data_dir = tmp_path_factory.mktemp("cli-data")
    paths = [str(p) for p in (*sorted(BAD.glob("*.pdf")), *broken.values(), good)]
    done = run_cli("import", *paths, "--dataset", "batch", "--json", data_dir=data_dir)
    return CliLibrary(data_dir, good, broken, done)


def test_import_json_on_a_fresh_data_directory_is_one_json_document(library: CliLibrary) -> None:
    assert library.first_import.returncode == 0, library.first_import.stderr[-2000:]

    stray = [line for line in library.first_import.stdout.splitlines() if not line.startswith("{")]

    assert stray == [], "--json output carries lines that are not JSON"
    assert json.loads(library.first_import.stdout)["dataset"] == "batch"  # what a script does


def test_a_batch_of_bad_files_still_imports_the_good_ones(library: CliLibrary) -> None:
    assert library.first_import.returncode == 0, library.first_import.stderr[-2000:]
    summary = last_json_line(library.first_import.stdout)
    failed = {f["path"]: f["reason"] for f in summary["failed"]}

    assert summary["added"] == 2  # the good PDF and the recovered one
    assert summary["pages"] >= 10 and summary["chunks"] >= 5
    assert sorted(summary["needs_ocr"]) == [
        str(BAD / "ocrmypdf_c02-22.pdf"),
        str(BAD / "pypdf_imagemagick-CCITTFaxDecode.pdf"),
    ]
    assert failed == {
        str(BAD / "ocrmypdf_invalid.pdf"): failed[str(BAD / "ocrmypdf_invalid.pdf")],
        str(
            BAD / "pypdf_libreoffice-writer-password.pdf"
        ): "encrypted: supply a password: pypdf_libreoffice-writer-password.pdf",
        str(library.broken["text"]): "not a PDF: notes.pdf has no PDF header",
        str(library.broken["empty"]): f"empty file (0 bytes): {library.broken['empty']}",
        str(
            library.broken["missing"]
        ): f"unreadable path: {library.broken['missing']} does not exist or is not a file",
    }
    assert failed[str(BAD / "ocrmypdf_invalid.pdf")].startswith("not a readable PDF")


def test_datasets_lists_document_states(library: CliLibrary) -> None:
    script = Path(sys.executable).parent / "cognition"  # the installed console script
    done = subprocess.run(
        [str(script), "datasets", "--json"],
        cwd=REPO_ROOT,
        env=subprocess_env(library.data_dir),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["batch"] == {"stored": 2, "failed": 5, "needs_ocr": 2}


def test_a_rerun_for_people_skips_what_is_done_and_lists_the_failures(
    library: CliLibrary, run_cli: CliRunner
) -> None:
    paths = [str(p) for p in (*sorted(BAD.glob("*.pdf")), *library.broken.values(), library.good)]

    done = run_cli("import", *paths, "--dataset", "batch", data_dir=library.data_dir)
    lines = done.stdout.splitlines()

    assert done.returncode == 0, done.stderr[-2000:]
    assert lines[0].startswith("dataset batch: added 0, skipped 2, replaced 0, pages 0, chunks 0")
    assert f"  failed: {library.broken['text']}: not a PDF: notes.pdf has no PDF header" in lines
    assert sum(line.startswith("  failed: ") for line in lines) == 5
    assert sum(line.startswith("  needs OCR: ") for line in lines) == 2


def test_search_json_output(library: CliLibrary, run_cli: CliRunner) -> None:
    done = run_cli(
        "search",
        "how does git store a commit object",
        "--dataset",
        "batch",
        "--mode",
        "hybrid",
        "--top-k",
        "3",
        "--json",
        data_dir=library.data_dir,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    result = last_json_line(done.stdout)
    assert (result["query"], result["mode"]) == ("how does git store a commit object", "hybrid")
    assert len(result["hits"]) == 3
    for hit in result["hits"]:
        assert set(hit) == HIT_FIELDS
        assert hit["dataset"] == "batch"
        assert hit["source"] in (str(library.good), str(BAD / "pypdf_issue-297.pdf"))
        assert 1 <= hit["page_start"] <= hit["page_end"] <= 10
        assert isinstance(hit["section"], list) and isinstance(hit["entities"], list)
        assert isinstance(hit["score"], float) and hit["text"]
    assert any("commit" in hit["text"].lower() for hit in result["hits"])
    assert [h["score"] for h in result["hits"]] == sorted((h["score"] for h in result["hits"]), reverse=True)


ERRORS = {
    "invalid mode": (
        ["search", "git", "--dataset", "batch", "--mode", "fuzzy"],
        "error: unknown mode 'fuzzy': use one of vector, graph, hybrid",
    ),
    "empty query": (["search", "", "--dataset", "batch"], "error: the query is empty"),
    "top-k zero": (
        ["search", "git", "--dataset", "batch", "--top-k", "0"],
        "error: top-k must be between 1 and 100",
    ),
    "missing dataset": (
        ["search", "git", "--dataset", "nope", "--json"],
        "error: no dataset named 'nope'; datasets: batch",
    ),
    "import without dataset": (
        ["import", str(BAD / "pypdf_issue-297.pdf")],
        "error: name the target dataset with --dataset (or import a manifest .toml)",
    ),
    "invalid dataset name": (
        ["import", str(BAD / "pypdf_issue-297.pdf"), "--dataset", "My Books"],
        "error: invalid dataset name 'My Books'",
    ),
}


@pytest.fixture(scope="module")
def errors(library: CliLibrary) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every erroneous command, run side by side."""
    running = {
        name: subprocess.Popen(
            cli_command(*args),
            cwd=REPO_ROOT,
            env=subprocess_env(library.data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, (args, _) in ERRORS.items()
    }
    finished = {}
    for name, process in running.items():
        out, err = process.communicate(timeout=CLI_TIMEOUT)
        finished[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return finished


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_an_error_exits_2_with_one_clear_line(
    errors: dict[str, subprocess.CompletedProcess[str]], case: str
) -> None:
    done, expected = errors[case], ERRORS[case][1]
    last_line = done.stderr.strip().splitlines()[-1]

    assert done.returncode == 2, done.stderr[-2000:]
    assert last_line.startswith(expected), last_line
    assert "Traceback" not in done.stderr
    assert '"hits"' not in done.stdout


def test_an_encrypted_pdf_imports_with_the_password_option(library: CliLibrary, run_cli: CliRunner) -> None:
    encrypted = BAD / "pypdf_libreoffice-writer-password.pdf"

    done = run_cli(
        "import",
        str(encrypted),
        "--dataset",
        "secret",
        "--password",
        "openpassword",
        "--json",
        data_dir=library.data_dir,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    summary = last_json_line(done.stdout)
    assert (summary["dataset"], summary["added"], summary["failed"]) == ("secret", 1, [])
    assert (summary["pages"], summary["chunks"]) == (1, 1)
