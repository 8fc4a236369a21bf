"""Dataset manifests: ``datasets/*.toml`` name a dataset, describe it and list its sources."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from cognition.datasets import validate_dataset_name
from cognition.errors import InvalidDatasetName, ManifestError
from ingest.web.spec import CrawlSpec

SourceKind = Literal["pdf", "text", "crawl"]
_SUFFIXES: dict[str, tuple[str, ...]] = {"pdf": (".pdf",), "text": (".md", ".markdown", ".txt")}


class Source(BaseModel):
    """One source of a dataset: files (pdf, text) by path or glob, or a crawl (seeds, URL
    globs to include and exclude, depth and page limits, same site as a seed or not)."""

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

    name: str
    description: str = ""
    sources: list[Source] = Field(default_factory=list)
    base_dir: Path = Path(".")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return validate_dataset_name(value)


def load_manifest(path: Path) -> Manifest:
    """Read and validate a manifest; paths in it are relative to the manifest's folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"manifest {path} is not valid TOML: {exc}") from exc
    try:
        return Manifest(**raw, base_dir=path.parent.resolve())
    except (ValidationError, InvalidDatasetName) as exc:
        raise ManifestError(f"manifest {path} is invalid: {exc}") from exc


def expand_paths(patterns: list[str], base_dir: Path, kind: str = "pdf") -> list[Path]:
    """Files named by paths, folders (searched recursively) and globs, sorted, no repeats.

    A pattern that matches nothing is returned as is, so the import records it as unreadable.
    """
    found: dict[Path, None] = {}
    suffixes = _SUFFIXES.get(kind, (".pdf",))
    for pattern in patterns:
        expanded = Path(pattern).expanduser()
        target = expanded if expanded.is_absolute() else base_dir / expanded
        for path in _expand_one(target, suffixes):
            found.setdefault(path, None)
    return list(found)


def _expand_one(target: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if target.is_dir():
        return sorted(p for p in target.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if glob.has_magic(str(target)):
        return sorted(Path(p) for p in glob.glob(str(target), recursive=True) if Path(p).is_file())
    return [target]
