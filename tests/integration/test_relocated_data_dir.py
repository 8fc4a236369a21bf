"""A data directory moved (a backup restored under another path) or copied (a second
environment made from the first) works on its own files: its vectors are found, and its
writes never land in the directory it came from. cognee records each dataset's LanceDB
directory as an absolute path; the store points it at the data directory it runs on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CliRunner

pytestmark = pytest.mark.slow


def _audit(run_cli: CliRunner, data_dir: Path) -> dict[str, Any]:
    done = run_cli("audit", "--dataset", "lib", "--format", "json", data_dir=data_dir)
    assert done.returncode in (0, 1, 2), done.stderr
    [audit] = json.loads(done.stdout)["datasets"]
    counts = next(c for c in audit["checks"] if c["name"] == "counts")
    found: dict[str, Any] = {c["name"]: (c["status"], c["total"]) for c in audit["checks"]}
    return found | {"vectors": sum(counts["values"]["vectors"].values())}


def test_a_moved_then_copied_data_dir_uses_its_own_vectors(
    tmp_path: Path, run_cli: CliRunner, excerpts: dict[str, Path]
) -> None:
    first, moved, copy = tmp_path / "first", tmp_path / "moved", tmp_path / "copy"
    imported = run_cli("import", str(excerpts["git_objects"]), "--dataset", "lib", data_dir=first)
    assert imported.returncode == 0, imported.stderr
    vectors = _audit(run_cli, first)["vectors"]
    assert vectors > 0

    first.rename(moved)  # restored under another path: the old one is gone
    after_move = _audit(run_cli, moved)

    assert after_move["chunks_without_vector"] == ("ok", 0)
    assert after_move["vectors"] == vectors
    search = run_cli("search", "how does git store a blob", "--dataset", "lib", "--json", data_dir=moved)
    assert search.returncode == 0 and json.loads(search.stdout.splitlines()[-1])["hits"], search.stderr

    shutil.copytree(moved, copy)  # a second environment: both stay
    more = run_cli("import", str(excerpts["bash_expansion"]), "--dataset", "lib", data_dir=copy)
    assert more.returncode == 0, more.stderr
    original, copied = _audit(run_cli, moved), _audit(run_cli, copy)

    assert original["vectors"] == vectors and original["vectors_without_chunk"] == ("ok", 0)
    assert copied["vectors"] > vectors and copied["chunks_without_vector"] == ("ok", 0)
