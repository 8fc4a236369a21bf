"""Turns ``Settings`` into cognee's environment, before cognee is imported.

cognee reads its configuration from environment variables (and loads a ``.env`` with
override on import), reaches for the network in several places, and writes under its own
package or ``~`` by default. This module is the one place that fixes all of that:

- every file cognee writes goes under ``<data_dir>/cognee`` (system databases, data, cache,
  logs, temp files);
- an explicit empty env file stops cognee from loading a stray ``.env``;
- telemetry, litellm's cost-map download, Hugging Face hub access, GLiNER auto-install,
  tiktoken's BPE download (pointed at the encodings litellm ships) and the first-run
  embedding/LLM connection test are all off;
- embedded stores: Ladybug graph, LanceDB vectors, SQLite (Postgres with ``ledger.url`` or
  ``ledger.cognee_url``: ``relational``), with backend access control ON so each dataset gets
  its own graph and vector files;
- Ladybug's home (where it keeps extensions, ``~/.lbdb``) is ``<data_dir>/cognee/ladybug``.

Call :func:`prepare_cognee` and only then import cognee.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cognition.paths import DataPaths
from cognition.settings import Settings
from cognition.store.cognee.relational import relational_environment

_prepared: Path | None = None


def cognee_root(settings: Settings) -> Path:
    return DataPaths.of(settings).cognee


def cognee_environment(
    settings: Settings, model_id: str = "cognition/all-MiniLM-L6-v2", dimensions: int = 384
) -> dict[str, str]:
    """The environment cognee must see, derived from settings and the embedder's model."""
    root = cognee_root(settings)
    pool = settings.store.graph_buffer_pool_mb
    return {
        **({} if pool is None else {"KUZU_BUFFER_POOL_SIZE": str(pool << 20)}),  # cognee's Ladybug too
        "COGNEE_ENV_FILE": str(root / "cognee.env"),
        "SYSTEM_ROOT_DIRECTORY": str(root / "system"),
        "DATA_ROOT_DIRECTORY": str(root / "data"),
        "CACHE_ROOT_DIRECTORY": str(root / "cache"),
        "COGNEE_LOGS_DIR": str(root / "logs"),
        "COGNEE_REPOS_DIR": str(root / "repos"),
        "TMPDIR": str(root / "tmp"),
        "GRAPH_DATABASE_PROVIDER": "ladybug",
        "VECTOR_DB_PROVIDER": "lancedb",
        **relational_environment(settings),  # SQLite, or Postgres (cognee_url / ledger.url)
        "ENABLE_BACKEND_ACCESS_CONTROL": "true",
        "GRAPH_DATABASE_SUBPROCESS_ENABLED": "false",
        "VECTOR_DB_SUBPROCESS_ENABLED": "false",
        "EMBEDDING_PROVIDER": "custom",
        "EMBEDDING_MODEL": model_id,
        "EMBEDDING_DIMENSIONS": str(dimensions),
        "EMBEDDING_BATCH_SIZE": str(settings.embedding.batch_size),
        "TELEMETRY_DISABLED": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "GLINER_AUTO_INSTALL": "false",
        "COGNEE_SKIP_CONNECTION_TEST": "true",
        "TIKTOKEN_CACHE_DIR": litellm_tiktoken_dir(),
        # cognee logs its start-up (banners, paths) in its own format before Cognition's
        # handler takes the root logger back (``cognition.logs.reapply``): ERROR keeps a
        # JSON log JSON unless cognee's own detail is asked for (DEBUG).
        "LOG_LEVEL": "DEBUG" if settings.log_level == "DEBUG" else "ERROR",
        "LITELLM_LOG": "ERROR",
        "CACHING": "false",
    }


def litellm_tiktoken_dir() -> str:
    """The tiktoken encodings litellm ships, found without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return ""
    return str(Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers")


def prepare_cognee(
    settings: Settings, model_id: str = "cognition/all-MiniLM-L6-v2", dimensions: int = 384
) -> Path:
    """Set cognee's environment for this process; idempotent for the same data directory."""
    global _prepared
    root = cognee_root(settings)
    if _prepared == root:
        return root
    if _prepared is not None:
        raise RuntimeError(f"cognee already prepared for {_prepared}; one data directory per process")
    for sub in ("system", "data", "cache", "logs", "repos", "tmp", "ladybug"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    env_file = root / "cognee.env"
    if not env_file.exists():
        env_file.write_text("# Cognition sets cognee's configuration in the process environment.\n")
    os.environ.update(cognee_environment(settings, model_id, dimensions))
    tempfile.tempdir = None
    _home_ladybug_in(root / "ladybug")
    _prepared = root
    return root


def _home_ladybug_in(folder: Path) -> None:
    """Give every Ladybug connection ``folder`` as its home directory.

    Ladybug creates ``<home>/.lbdb/extension/...`` when an extension is installed, and cognee
    probes for the JSON extension with an ``INSTALL`` on every connection it opens, so each
    import made ``~/.lbdb``. Ladybug takes its home from ``HOME`` (no variable of its own),
    which the whole process shares (``~`` in a manifest means the user's home), so instead
    each connection is told its home with ``CALL home_directory`` as soon as it is opened.
    """
    from ladybug.connection import Connection

    opened = Connection.__init__
    literal = str(folder).replace("\\", "\\\\").replace("'", "\\'")

    def open_at_home(self: Connection, *args: Any, **kwargs: Any) -> None:
        opened(self, *args, **kwargs)
        self.execute(f"CALL home_directory='{literal}'")

    Connection.__init__ = open_at_home  # type: ignore[method-assign]


def require_prepared() -> None:
    """Guard for modules that import cognee at import time."""
    if _prepared is None:
        raise RuntimeError(
            "cognee imported before prepare_cognee(): its paths and network settings would be wrong"
        )


WRITE_MODULES = (
    "lancedb",
    "cognee.infrastructure.databases.vector.lancedb.LanceDBAdapter",
    "cognition.store.cognee.writes",
)


@contextlib.contextmanager
def long_lived_imports() -> Iterator[None]:
    """Import cognee and the stores' modules with the cyclic collector paused, then freeze
    what they made.

    They leave about 750k objects that live as long as the process: collecting while they
    are created cost about 2 s of CPU, and every full collection afterwards walked them all
    again (0.2 s each, a dozen times for three books). Frozen, the collector skips them.
    Only the first time in a process: later calls import nothing.
    """
    if "cognee" in sys.modules:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
