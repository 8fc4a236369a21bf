"""``cognition repair`` in its own process: a dry run unless --apply, a failed document
requeued and run by the command itself (no Redis, no server), each run recorded; unknown
datasets and kinds are one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

from cognition.datasets import document_id
from cognition.ledger import Failure, SqliteLedger
from ingest.pdf import sha256_file
from ingest.pipeline import PIPELINE_VERSION
from tests.helpers import CliRunner


def test_dry_run_then_apply_requeues_a_failed_document(
    run_cli: CliRunner, excerpts: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    imported = run_cli("import", str(excerpts["git_objects"]), "-d", "lib", data_dir=data)
    assert imported.returncode == 0, imported.stderr[-2000:]
    ledger = SqliteLedger(data / "ledger.sqlite3")
    sha = sha256_file(excerpts["bash_expansion"])
    upload = data / "uploads" / "lib" / f"{sha}.pdf"
    upload.parent.mkdir(parents=True)
    shutil.copyfile(excerpts["bash_expansion"], upload)
    doc = document_id("lib", sha)
    ledger.record_failure(
        Failure("lib", doc, str(upload), sha, "pdf", "planted: disk full", PIPELINE_VERSION)
    )

    dry = run_cli("repair", "-d", "lib", "--only", "failed,orphans", data_dir=data)

    assert dry.returncode == 0, dry.stdout + dry.stderr[-2000:]
    assert dry.stdout.splitlines()[0].startswith("dry run: what repairing lib would change")
    assert (
        "failed: 1 found, 1 would change" in dry.stdout and "orphans: 0 found, 0 would change" in dry.stdout
    )
    assert f"  {doc}  requeue {upload} (failed: planted: disk full)" in dry.stdout
    assert ledger.get("lib", doc).state == "failed"  # type: ignore[union-attr]

    applied = run_cli("repair", "-d", "lib", "--only", "failed", "--apply", data_dir=data)

    assert applied.returncode == 0, applied.stdout + applied.stderr[-2000:]
    assert "failed: 1 found, 1 changed" in applied.stdout and "ran 1 requeued job(s) here" in applied.stderr
    row = ledger.get("lib", doc)
    assert row is not None and row.state == "stored" and row.chunks > 0
    assert [(r.kind, r.dry_run, r.count) for r in ledger.repairs("lib")] == [
        ("failed", False, 1),
        ("failed", True, 1),
        ("orphans", True, 0),
    ]


def test_unknown_dataset_and_kind_are_one_line(run_cli: CliRunner, tmp_path: Path) -> None:
    missing = run_cli("repair", "-d", "nope", data_dir=tmp_path / "empty")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no dataset named 'nope'; there are no datasets yet"
    kind = run_cli("repair", "-d", "nope", "--only", "orphans,everything", data_dir=tmp_path / "empty")
    assert kind.returncode == 2
    assert kind.stderr.strip().startswith("error: unknown repair kind 'everything': use orphans, vectors")
