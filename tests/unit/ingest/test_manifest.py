"""Manifests: their paths stay in the manifest's folder unless it says otherwise, and no walk
of a folder goes round a symlink cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from cognition.errors import ManifestError
from ingest.manifest import expand_paths, load_manifest


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n")
    return path


def manifest_file(folder: Path, paths: list[str], extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    listed = ", ".join(f'"{p}"' for p in paths)
    path = folder / "lib.toml"
    path.write_text(f'name = "lib"\n{extra}\n[[sources]]\nkind = "pdf"\npaths = [{listed}]\n')
    return path


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """``a.pdf`` and ``sub/b.pdf``, and ``sub/up`` a symlink back to the top (a cycle)."""
    top = tmp_path / "lib"
    touch(top / "a.pdf")
    touch(top / "sub" / "b.pdf")
    (top / "sub" / "up").symlink_to("..")
    return top


def test_a_recursive_glob_does_not_go_round_a_symlink_cycle(library: Path) -> None:
    assert expand_paths(["**/*.pdf"], library) == [library / "a.pdf", library / "sub" / "b.pdf"]


def test_a_folder_walk_does_not_go_round_symlink_cycles(library: Path) -> None:
    (library / "again").symlink_to(".")
    (library / "sub" / "top").symlink_to(library)

    assert expand_paths([str(library)], Path(".")) == [library / "a.pdf", library / "sub" / "b.pdf"]


def test_a_symlinked_folder_is_searched_once(tmp_path: Path, library: Path) -> None:
    touch(tmp_path / "elsewhere" / "c.pdf")
    (library / "shelf").symlink_to(tmp_path / "elsewhere")
    (library / "sub" / "shelf-again").symlink_to(tmp_path / "elsewhere")

    found = expand_paths([str(library)], Path("."))

    assert [p.name for p in found] == ["a.pdf", "c.pdf", "b.pdf"]


def test_glob_parts_after_a_recursive_part_still_name_folders(library: Path) -> None:
    touch(library / "x" / "books" / "d.pdf")
    touch(library / "x" / "other" / "e.pdf")

    assert expand_paths(["**/books/*.pdf", "sub/*.pdf"], library) == [
        library / "x" / "books" / "d.pdf",
        library / "sub" / "b.pdf",
    ]


def test_paths_are_resolved_against_the_manifest_folder(tmp_path: Path, library: Path) -> None:
    manifest = load_manifest(manifest_file(library, ["a.pdf", "sub"]))
    [source] = manifest.sources

    assert manifest.base_dir == library
    assert expand_paths(source.paths, manifest.base_dir) == [library / "a.pdf", library / "sub" / "b.pdf"]


@pytest.mark.parametrize(
    "pattern",
    ["../../../../../../../../etc/hostname", "/etc/hostname", "~/book.pdf", "../*.pdf", "linked.pdf"],
)
def test_a_path_outside_the_manifest_folder_is_refused(
    tmp_path: Path, library: Path, monkeypatch: pytest.MonkeyPatch, pattern: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    touch(tmp_path / "home" / "book.pdf")
    touch(tmp_path / "outside.pdf")
    (library / "linked.pdf").symlink_to(tmp_path / "outside.pdf")
    path = manifest_file(library, [pattern])

    with pytest.raises(ManifestError) as refused:
        load_manifest(path)

    assert str(refused.value).startswith(f"manifest {path}: {pattern!r} names ")
    assert str(refused.value).endswith(
        f", outside the manifest's folder {library} (set allow_outside = true in the manifest to allow it)"
    )


def test_allow_outside_lets_a_manifest_name_any_path(tmp_path: Path, library: Path) -> None:
    touch(tmp_path / "outside.pdf")
    manifest = load_manifest(manifest_file(library, ["../outside.pdf"], "allow_outside = true"))
    [source] = manifest.sources

    assert manifest.allow_outside
    assert [p.resolve() for p in expand_paths(source.paths, manifest.base_dir)] == [tmp_path / "outside.pdf"]
