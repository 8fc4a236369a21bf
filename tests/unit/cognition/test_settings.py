"""Settings come from ``COGNITION_*`` variables, nested sections use ``__``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cognition.paths import import_roots
from cognition.settings import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No COGNITION_ variable of the caller's shell, and no stray .env, leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("COGNITION_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_environment() -> None:
    settings = Settings()

    assert settings.data_dir == Path("./.cognition")
    assert settings.embedding.batch_size == 16
    assert settings.embedding.provider == "local"
    assert settings.search.top_k == 5
    assert settings.search.max_top_k == 100


def test_top_level_setting_from_prefixed_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COGNITION_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("COGNITION_LOG_LEVEL", "DEBUG")

    settings = Settings()

    assert settings.resolved_data_dir == tmp_path / "store"
    assert settings.log_level == "DEBUG"


def test_nested_sections_from_double_underscore_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_EMBEDDING__BATCH_SIZE", "7")
    monkeypatch.setenv("COGNITION_CHUNKING__TARGET_WORDS", "90")
    monkeypatch.setenv("COGNITION_IMPORTS__CHUNKS_PER_BATCH", "12")
    monkeypatch.setenv("COGNITION_SEARCH__MAX_TOP_K", "40")

    settings = Settings()

    assert settings.embedding.batch_size == 7
    assert settings.chunking.target_words == 90
    assert settings.imports.chunks_per_batch == 12
    assert settings.search.max_top_k == 40
    # a nested variable changes its field only; the section's other fields keep their defaults
    assert settings.chunking.overlap_words == 20
    assert settings.embedding.runtime == "onnx"


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", "/somewhere/else")
    monkeypatch.setenv("EMBEDDING__BATCH_SIZE", "3")

    settings = Settings()

    assert settings.data_dir == Path("./.cognition")
    assert settings.embedding.batch_size == 16
    assert settings.embedding.provider == "local"


def test_init_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COGNITION_DATA_DIR", str(tmp_path / "from-env"))

    settings = Settings(data_dir=tmp_path / "from-init")

    assert settings.resolved_data_dir == tmp_path / "from-init"


def test_environment_wins_over_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COGNITION_SEARCH__TOP_K=9\nCOGNITION_EMBEDDING__BATCH_SIZE=11\n")
    monkeypatch.setenv("COGNITION_EMBEDDING__BATCH_SIZE", "5")

    settings = Settings()

    assert settings.search.top_k == 9
    assert settings.embedding.batch_size == 5


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("COGNITION_CHUNKING__TARGET_WORDS", "5", "target_words"),
        ("COGNITION_IMPORTS__CHUNKS_PER_BATCH", "0", "chunks_per_batch"),
        ("COGNITION_LOG_LEVEL", "CHATTY", "log_level"),
        ("COGNITION_EMBEDDING__RUNTIME", "torch", "runtime"),
    ],
)
def test_invalid_values_are_refused_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValidationError) as error:
        Settings()

    assert field in str(error.value)


def test_import_roots_come_from_a_comma_separated_variable_and_uploads_is_always_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("COGNITION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COGNITION_QUEUE__IMPORT_ROOTS", f"/srv/books, {tmp_path / 'link'}")

    settings = Settings()

    assert settings.queue.import_roots == [Path("/srv/books"), tmp_path / "link"]
    assert import_roots(settings) == (Path("/srv/books"), tmp_path / "real", tmp_path / "data" / "uploads")


def test_import_roots_are_empty_by_default_but_for_uploads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COGNITION_DATA_DIR", str(tmp_path / "data"))

    assert import_roots(Settings()) == (tmp_path / "data" / "uploads",)


def test_a_relative_import_root_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COGNITION_QUEUE__IMPORT_ROOTS", "books")

    with pytest.raises(ValidationError) as error:
        Settings()

    assert "import roots must be absolute paths: books" in str(error.value)
