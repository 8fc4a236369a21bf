"""What an import names, resolved once for every entry point: a manifest's sources, or files
and folders given with a dataset name. The in-process importer and the queue client both
start here, so a manifest means the same thing either way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cognition.datasets import validate_dataset_name
from cognition.errors import DatasetError
from ingest.files import collect_files
from ingest.manifest import expand_paths, load_manifest
from ingest.web.spec import CrawlSpec


@dataclass
class Targets:
    dataset: str
    description: str = ""
    files: list[tuple[Path, str]] = field(default_factory=list)  # path, kind
    crawls: list[CrawlSpec] = field(default_factory=list)


def resolve_targets(paths: Sequence[Path], dataset: str | None) -> Targets:
    """One manifest (a ``.toml`` path; ``dataset`` overrides its name), or files and folders
    into ``dataset``."""
    if len(paths) == 1 and paths[0].suffix == ".toml":
        manifest = load_manifest(paths[0])
        targets = Targets(validate_dataset_name(dataset or manifest.name), manifest.description)
        for source in manifest.sources:
            if source.kind == "crawl":
                targets.crawls.append(source.crawl_spec())
            else:
                found = expand_paths(source.paths, manifest.base_dir, source.kind)
                targets.files += [(path, source.kind) for path in found]
        return targets
    if not dataset:
        raise DatasetError("name the target dataset with --dataset (or import a manifest .toml)")
    return Targets(validate_dataset_name(dataset), files=collect_files(paths))
