"""The environment cognee is given: every path under the data directory, everything offline."""

from __future__ import annotations

from pathlib import Path

from cognition.settings import Settings
from cognition.store.cognee.env import cognee_environment


def test_every_cognee_path_is_under_the_data_directory(tmp_path: Path) -> None:
    env = cognee_environment(Settings(data_dir=tmp_path / "data"))
    root = tmp_path / "data" / "cognee"

    for name in (
        "SYSTEM_ROOT_DIRECTORY",
        "DATA_ROOT_DIRECTORY",
        "CACHE_ROOT_DIRECTORY",
        "COGNEE_LOGS_DIR",
        "COGNEE_REPOS_DIR",
        "TMPDIR",
        "COGNEE_ENV_FILE",
    ):
        assert Path(env[name]).is_relative_to(root), name


def test_embedded_stores_with_one_space_per_dataset(tmp_path: Path) -> None:
    env = cognee_environment(Settings(data_dir=tmp_path))

    assert env["GRAPH_DATABASE_PROVIDER"] == "ladybug"
    assert env["VECTOR_DB_PROVIDER"] == "lancedb"
    assert env["DB_PROVIDER"] == "sqlite"
    assert env["ENABLE_BACKEND_ACCESS_CONTROL"] == "true"


def test_network_features_are_switched_off(tmp_path: Path) -> None:
    env = cognee_environment(Settings(data_dir=tmp_path))

    assert env["TELEMETRY_DISABLED"] == "1"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
    assert env["COGNEE_SKIP_CONNECTION_TEST"] == "true"
    assert env["EMBEDDING_PROVIDER"] == "custom"


def test_embedding_dimensions_follow_settings(tmp_path: Path) -> None:
    env = cognee_environment(Settings(data_dir=tmp_path, embedding={"dimensions": 384, "batch_size": 8}))

    assert env["EMBEDDING_DIMENSIONS"] == "384"
    assert env["EMBEDDING_BATCH_SIZE"] == "8"
