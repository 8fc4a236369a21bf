"""``cognition audit`` in its own process: the exit code says the worst status (0 ok, 1 warn,
2 critical), the report goes to --out, and every run is stored in the ledger."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cognition.ledger import DocumentRecord, SqliteLedger
from tests.helpers import CliRunner


def test_exit_code_by_worst_status(run_cli: CliRunner, excerpts: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "data"
    imported = run_cli("import", str(excerpts["git_objects"]), "-d", "lib", data_dir=data)
    assert imported.returncode == 0, imported.stderr[-2000:]
    ledger = SqliteLedger(data / "ledger.sqlite3")

    clean = run_cli("audit", "--format", "json", "--out", str(tmp_path / "a.json"), data_dir=data)
    assert clean.returncode == 0, clean.stdout + clean.stderr[-2000:]
    assert json.loads((tmp_path / "a.json").read_text())["status"] == "ok"

    stuck = DocumentRecord("lib", "stuck-doc", "/stuck.pdf", "h1", "pdf", "reading")
    ledger.upsert(stuck)
    ledger.update("lib", "stuck-doc", updated_at=time.time() - 86_400)
    warned = run_cli("audit", "-d", "lib", data_dir=data)
    assert warned.returncode == 1, warned.stdout + warned.stderr[-2000:]
    assert "stuck_documents" in warned.stdout and "stuck-doc" in warned.stdout

    ledger.upsert(DocumentRecord("lib", "ghost-doc", "/ghost.pdf", "h2", "pdf", "stored"))
    critical = run_cli("audit", "-d", "lib", "--format", "md", data_dir=data)
    assert critical.returncode == 2, critical.stdout + critical.stderr[-2000:]
    assert "| ledger_not_in_store | critical |" in critical.stdout

    assert [r.status for r in ledger.audits("lib")] == ["critical", "warn", "ok"]


def test_unknown_dataset_is_one_line(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("audit", "-d", "nope", data_dir=tmp_path / "empty")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: ")
