"""The data directory's layout, written down once.

::

    <data_dir>/
      ledger.sqlite3     the ledger (documents, datasets)
      cache.sqlite3      paid results (a remote model's embeddings and extractions) by chunk hash
      locks/             one flock file per dataset (the write gate)
      models/            the embedding runtime's converted model files
      cognee/            everything cognee writes: its databases, the graph and vector files
      vectors/           with the graph on Neo4j: each dataset's LanceDB chunk vectors
      crawl4ai/          crawl4ai's folders (it creates them when imported)
      browser/           Chromium's throw-away profiles (browser-mode crawls)
      uploads/           files received by the API, named by their sha256
      server.json        the running `cognition serve`: url, pid, token (mode 0600)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cognition.settings import Settings


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @classmethod
    def of(cls, settings: Settings) -> DataPaths:
        return cls(settings.resolved_data_dir)

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.sqlite3"

    @property
    def cache(self) -> Path:
        return self.root / "cache.sqlite3"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def cognee(self) -> Path:
        return self.root / "cognee"

    @property
    def crawl4ai(self) -> Path:
        return self.root / "crawl4ai"

    @property
    def browser(self) -> Path:
        return self.root / "browser"

    @property
    def uploads(self) -> Path:
        return self.root / "uploads"

    @property
    def server_file(self) -> Path:
        """Where a running ``cognition serve`` tells the CLI on this host how to reach it."""
        return self.root / "server.json"


def import_roots(settings: Settings) -> tuple[Path, ...]:
    """Where queued file jobs may read: the configured roots and ``<data_dir>/uploads``
    (where the API puts uploaded files), symlinks resolved."""
    roots = (*settings.queue.import_roots, DataPaths.of(settings).uploads)
    return tuple(Path(os.path.realpath(root)) for root in roots)
