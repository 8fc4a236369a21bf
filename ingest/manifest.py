"""Dataset manifests: ``datasets/*.toml`` name a dataset, describe it and list its sources.

A manifest's paths are relative to its folder and must stay in it (``allow_outside = true``
lifts that). Folders and ``**`` are searched with symlinked folders followed, each real
folder once, so a symlink cycle ends the walk instead of repeating it.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from cognition.datasets import validate_dataset_name
from cognition.errors import InvalidDatasetName, ManifestError
from ingest.web.spec import CrawlSpec

SourceKind = Literal["pdf", "text", "crawl"]
_SUFFIXES: dict[str, tuple[str, ...]] = {"pdf": (".pdf",), "text": (".md", ".markdown", ".txt")}


class Source(BaseModel):
    """One source of a dataset: files (pdf, text) by path or glob, or a crawl (seeds, URL
    globs to include and exclude, depth and page limits, same site as a seed or not)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not ignored

    kind: SourceKind
    paths: list[str] = Field(default_factory=list)
    seeds: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    max_depth: int | None = None  # None: the crawl settings' default
    max_pages: int | None = None
    same_site: bool = True

    def crawl_spec(self) -> CrawlSpec:
        return CrawlSpec(
            tuple(self.seeds),
            tuple(self.include),
            tuple(self.exclude),
            self.max_depth,
            self.max_pages,
            self.same_site,
        )


class Manifest(BaseModel):
    """A dataset manifest."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    sources: list[Source] = Field(default_factory=list)
    allow_outside: bool = False  # paths may name files outside the manifest's folder
    _base_dir: Path = PrivateAttr(default=Path("."))  # not a key: set from where the file is

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_dataset_name(value)

    @classmethod
    def in_folder(cls, raw: dict[str, Any], base_dir: Path) -> Manifest:
        """A manifest from its TOML table, its paths relative to ``base_dir``."""
        manifest = cls.model_validate(raw)
        manifest._base_dir = base_dir
        return manifest

    @property
    def base_dir(self) -> Path:
        """The folder the manifest's paths are relative to."""
        return self._base_dir


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; paths in it are relative to the manifest's folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"manifest {path} is not valid TOML: {exc}") from exc
    try:
        manifest = Manifest.in_folder(raw, path.parent.resolve())
    except InvalidDatasetName as exc:
        raise ManifestError(f"manifest {path} is invalid: {exc}") from exc
    except ValidationError as exc:
        raise ManifestError(f"manifest {path} is invalid: {_describe(exc)}") from exc
    if not manifest.allow_outside:
        _refuse_outside(manifest, path)
    return manifest


def _describe(exc: ValidationError) -> str:
    """Every problem on one line: ``sources.0.path: unknown key; kind: ...``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: "
        + ("unknown key" if error["type"] == "extra_forbidden" else error["msg"])
        for error in exc.errors()
    )


def _refuse_outside(manifest: Manifest, path: Path) -> None:
    """Refuse a manifest whose paths name files outside its folder (``..``, absolute paths,
    ``~``, symlinks): importing a manifest should not read whatever it points at."""
    for source in manifest.sources:
        for pattern in source.paths:
            for found in expand_paths([pattern], manifest.base_dir, source.kind):
                if not found.resolve().is_relative_to(manifest.base_dir):
                    raise ManifestError(
                        f"manifest {path}: {pattern!r} names {found.resolve()}, outside the manifest's "
                        f"folder {manifest.base_dir} (set allow_outside = true in the manifest to allow it)"
                    )


def expand_paths(patterns: list[str], base_dir: Path, kind: str = "pdf") -> list[Path]:
    """Files named by paths, folders (searched recursively) and globs, sorted, no repeats
    (one file reached by two paths, through a symlink, is listed once).

    A pattern that matches nothing is returned as is, so the import records it as unreadable.
    """
    found: dict[str, Path] = {}
    suffixes = _SUFFIXES.get(kind, (".pdf",))
    for pattern in patterns:
        expanded = Path(pattern).expanduser()
        target = expanded if expanded.is_absolute() else base_dir / expanded
        for path in _expand_one(target, suffixes):
            found.setdefault(os.path.realpath(path), path)
    return list(found.values())


def _expand_one(target: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if target.is_dir():
        return sorted(p for p in _walk_files(target) if p.suffix.lower() in suffixes)
    if glob.has_magic(str(target)):
        parts = [part for i, part in enumerate(target.parts) if part != "**" or target.parts[i - 1] != "**"]
        first = next(i for i, part in enumerate(parts) if glob.has_magic(part))
        return sorted(p for p in _glob(Path(*parts[:first]), tuple(parts[first:])) if p.is_file())
    return [target]


def _walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root``, hidden ones included, each real folder searched once."""
    for folder in _folders(root, hidden=True):
        yield from (folder / entry.name for entry in _entries(folder) if _is_file(entry))


def _glob(root: Path, parts: tuple[str, ...]) -> Iterator[Path]:
    """Paths under ``root`` that match the pattern ``parts``, as :func:`glob.glob` finds them
    (``*`` skips hidden names, ``**`` any folders below), each real folder entered once by
    ``**``: a symlink cycle is not followed round."""
    if not parts:
        yield root
        return
    head, rest = parts[0], parts[1:]
    if head == "**":
        for folder in _folders(root, hidden=False):
            yield from _glob(folder, rest) if rest else _walk_files(folder)
    elif not glob.has_magic(head):
        if os.path.lexists(root / head):
            yield from _glob(root / head, rest)
    else:
        for entry in _entries(root):
            if _matches(entry.name, head) and (not rest or _is_dir(entry)):
                yield from _glob(root / entry.name, rest)


def _folders(root: Path, hidden: bool) -> Iterator[Path]:
    """``root`` and every folder below it, depth first in name order; a symlinked folder is
    entered, but no real folder twice (that is what ends a cycle and bounds the walk)."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        folder = pending.pop()
        real = os.path.realpath(folder)
        if real in seen or not os.path.isdir(real):
            continue
        seen.add(real)
        yield folder
        below = [folder / e.name for e in _entries(folder) if _is_dir(e) and (hidden or e.name[0] != ".")]
        pending.extend(reversed(below))


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    """A folder's entries in name order; none if it cannot be listed."""
    try:
        with os.scandir(folder) as found:
            return sorted(found, key=lambda entry: entry.name)
    except OSError:
        return []


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _matches(name: str, pattern: str) -> bool:
    """One name against one glob part; as in :mod:`glob`, ``*`` does not match a hidden name."""
    return (pattern.startswith(".") or not name.startswith(".")) and fnmatch.fnmatchcase(name, pattern)
