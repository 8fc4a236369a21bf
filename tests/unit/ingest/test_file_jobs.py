"""A file job's arguments are untrusted: their shapes, their path and their bytes are checked."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from ingest.job_checks import FileJob, RefusedJob, within_roots


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "library"
    folder.mkdir()
    (folder / "note.md").write_text("# Blobs\n\nA blob stores a file.\n")
    (tmp_path / "secret.md").write_text("secret\n")
    (folder / "link.md").symlink_to(tmp_path / "secret.md")
    return folder


def arguments(file: Path | str, **changes: Any) -> dict[str, Any]:
    real = Path(os.path.realpath(file))
    digest = hashlib.sha256(real.read_bytes()).hexdigest() if real.is_file() else "0" * 64
    return {"dataset": "books", "path": str(file), "kind": "text", "content_hash": digest} | changes


def test_a_good_job_is_its_resolved_path_and_checked_bytes(library: Path) -> None:
    job = FileJob.checked(arguments(library / "sub" / ".." / "note.md"), [library])

    assert (job.dataset, job.path, job.kind) == ("books", library / "note.md", "text")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"dataset": 3}, "dataset must be a string, not int"),
        ({"path": ["/etc/passwd"]}, "path must be a string, not list"),
        ({"dataset": "../up"}, "invalid dataset name '../up'"),
        ({"kind": "exe"}, "kind must be one of pdf, text, not 'exe'"),
        ({"content_hash": "A" * 64}, "content_hash must be 64 lowercase hex digits"),
        ({"content_hash": "0" * 65}, "content_hash must be 64 lowercase hex digits"),
        ({"extra": 1}, "unexpected arguments: extra"),
        ({"path": "note.md"}, "path must be an absolute path, not 'note.md'"),
        ({"path": "/lib/\x00/x"}, "path is not a usable file name"),
    ],
)
def test_malformed_arguments_are_refused_with_their_reason(
    library: Path, changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(RefusedJob) as refused:
        FileJob.parse(arguments(library / "note.md", **changes), [library])

    assert reason in str(refused.value)


def test_missing_arguments_are_named() -> None:
    with pytest.raises(RefusedJob) as refused:
        FileJob.parse({"dataset": "books", "kind": 1}, [])

    assert str(refused.value) == "refused: missing arguments: content_hash, path"


def test_a_path_that_resolves_outside_the_roots_is_refused(library: Path) -> None:
    for path in (library / "link.md", library / ".." / "secret.md", Path("/etc/hostname")):
        with pytest.raises(RefusedJob) as refused:
            within_roots(path, [library])
        assert "is outside the import roots" in str(refused.value)
        assert "COGNITION_QUEUE__IMPORT_ROOTS" in str(refused.value)


def test_no_roots_refuse_every_path(library: Path) -> None:
    with pytest.raises(RefusedJob):
        within_roots(library / "note.md", [])


def test_a_root_is_a_directory_not_a_prefix(tmp_path: Path) -> None:
    (tmp_path / "books-private").mkdir()
    (tmp_path / "books-private" / "a.md").write_text("a")

    with pytest.raises(RefusedJob):
        within_roots(tmp_path / "books-private" / "a.md", [tmp_path / "books"])


def test_bytes_that_do_not_match_the_hash_are_refused(library: Path) -> None:
    job = arguments(library / "note.md")
    (library / "note.md").write_text("# Blobs\n\nChanged since it was submitted.\n")

    with pytest.raises(RefusedJob) as refused:
        FileJob.checked(job, [library])

    assert "content does not match the job's hash" in str(refused.value)


def test_a_folder_is_not_a_file_job(library: Path) -> None:
    with pytest.raises(RefusedJob) as refused:
        FileJob.checked(arguments(library), [library.parent])

    assert "is not a file" in str(refused.value)
