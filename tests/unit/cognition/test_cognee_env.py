"""What cognee actually resolves once ``prepare_cognee`` has run: every path under the data
directory, the embedded stores, our embedding model, telemetry off, and no stray ``.env``.

cognee is configured once per process, so each check runs the real cognee in a small
subprocess with a data directory of its own, started from a working directory holding a
``.env`` that would point cognee elsewhere if it were read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, subprocess_env

_RESOLVE = """
import json, os, sys, tempfile
from pathlib import Path
from cognition.settings import Settings
from cognition.store.cognee.env import prepare_cognee

prepare_cognee(Settings(data_dir=Path(sys.argv[1]), embedding={"batch_size": 8}))

import cognee
from cognee.base_config import get_base_config
from cognee.infrastructure.databases.graph.config import get_graph_config
from cognee.infrastructure.databases.relational.config import get_relational_config
from cognee.infrastructure.databases.vector.config import get_vectordb_config
from cognee.infrastructure.databases.vector.embeddings.config import get_embedding_config

base, graph, vector = get_base_config(), get_graph_config(), get_vectordb_config()
relational, embedding = get_relational_config(), get_embedding_config()
print("RESOLVED " + json.dumps({
    "env_file": cognee._env_file,
    "paths": {
        "system root": base.system_root_directory,
        "data root": base.data_root_directory,
        "cache root": base.cache_root_directory,
        "logs": base.logs_root_directory,
        "repos": base.repos_root_directory,
        "graph file": graph.graph_file_path,
        "vector database": vector.vector_db_url,
        "relational database": relational.db_path,
        "temp files": tempfile.gettempdir(),
    },
    "graph": graph.graph_database_provider,
    "vector": vector.vector_db_provider,
    "relational": relational.db_provider,
    "embedding": [embedding.embedding_provider, embedding.embedding_model,
                  embedding.embedding_dimensions, embedding.embedding_batch_size],
    "telemetry disabled": os.environ.get("TELEMETRY_DISABLED"),
}))
"""

_TWICE = """
import sys
from pathlib import Path
from cognition.settings import Settings
from cognition.store.cognee.env import prepare_cognee

first = prepare_cognee(Settings(data_dir=Path(sys.argv[1])))
again = prepare_cognee(Settings(data_dir=Path(sys.argv[1])))
print("SAME", first == again)
prepare_cognee(Settings(data_dir=Path(sys.argv[2])))
"""

# What a developer's .env for another cognee project might say.
_STRAY_ENV = """\
GRAPH_DATABASE_PROVIDER=neo4j
GRAPH_DATABASE_URL=bolt://localhost:7687
VECTOR_DB_PROVIDER=pgvector
DB_PROVIDER=postgres
SYSTEM_ROOT_DIRECTORY={elsewhere}/system
DATA_ROOT_DIRECTORY={elsewhere}/data
TELEMETRY_DISABLED=
EMBEDDING_PROVIDER=openai
"""


def _run(script: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter, from a working directory with a stray ``.env``."""
    cwd = tmp / "project"
    cwd.mkdir(exist_ok=True)
    (cwd / ".env").write_text(_STRAY_ENV.format(elsewhere=tmp / "elsewhere"))
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=subprocess_env(tmp / "unused", tmp / "home", PYTHONPATH=str(REPO_ROOT)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cognee-env") / "data"


@pytest.fixture(scope="module")
def resolved(data_dir: Path) -> dict[str, Any]:
    """What a freshly imported cognee resolved after ``prepare_cognee``."""
    done = _run(_RESOLVE, data_dir.parent, str(data_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("RESOLVED "))
    found: dict[str, Any] = json.loads(line.removeprefix("RESOLVED "))
    return found


def test_every_path_cognee_uses_lies_under_the_data_directory(
    resolved: dict[str, Any], data_dir: Path
) -> None:
    root = data_dir.resolve() / "cognee"
    outside = {name: path for name, path in resolved["paths"].items() if not Path(path).is_relative_to(root)}

    assert not outside, outside
    assert len(resolved["paths"]) == 9


def test_a_stray_env_file_in_the_working_directory_is_not_loaded(
    resolved: dict[str, Any], data_dir: Path
) -> None:
    assert resolved["env_file"] == str(data_dir.resolve() / "cognee" / "cognee.env")
    assert not (data_dir.parent / "elsewhere").exists()


def test_cognee_runs_on_the_embedded_stores(resolved: dict[str, Any]) -> None:
    assert (resolved["graph"], resolved["vector"], resolved["relational"]) == ("ladybug", "lancedb", "sqlite")


def test_cognee_embeds_with_the_local_model_as_configured(resolved: dict[str, Any]) -> None:
    assert resolved["embedding"] == ["custom", "cognition/all-MiniLM-L6-v2", 384, 8]


def test_telemetry_is_off(resolved: dict[str, Any]) -> None:
    assert resolved["telemetry disabled"]  # what cognee's send_telemetry checks


def test_one_process_serves_one_data_directory(tmp_path: Path) -> None:
    done = _run(_TWICE, tmp_path, str(tmp_path / "first"), str(tmp_path / "second"))

    assert "SAME True" in done.stdout  # preparing the same directory again is a no-op
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        f"RuntimeError: cognee already prepared for {tmp_path / 'first' / 'cognee'}; "
        "one data directory per process"
    )
    assert not (tmp_path / "second").exists()


def test_the_graph_buffer_pool_is_cognees_default_unless_bounded(tmp_path: Path) -> None:
    from cognition.settings import Settings, StoreSettings
    from cognition.store.cognee.env import cognee_environment

    assert "KUZU_BUFFER_POOL_SIZE" not in cognee_environment(Settings(data_dir=tmp_path))
    bounded = Settings(data_dir=tmp_path, store=StoreSettings(graph_buffer_pool_mb=1024))
    assert cognee_environment(bounded)["KUZU_BUFFER_POOL_SIZE"] == str(1024 * 1024 * 1024)
