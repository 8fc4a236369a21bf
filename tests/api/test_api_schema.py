"""Schemathesis over the OpenAPI document: generated requests (examples, boundary values,
fuzzing, and stateful sequences linked by the schema) against the real app served by
uvicorn on 127.0.0.1, on a small dataset of its own. No answer is a 5xx, and every answer
matches the schema (status codes, content types, headers, bodies)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.redis_server import free_port
from tests.api.test_api_restart import _server
from tests.helpers import REPO_ROOT, CliRunner, subprocess_env

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)


def test_generated_requests_get_no_5xx_and_answers_that_match_the_schema(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    data_dir = tmp_path / "data"
    notes = tmp_path / "notes.md"
    notes.write_text("# Git trees\n\nA tree object lists blobs and other trees. A commit points at a tree.\n")
    assert run_cli("import", str(notes), "-d", "docs", data_dir=data_dir).returncode == 0
    made = run_cli("keys", "create", "fuzz", "--grant", "admin:*", data_dir=data_dir)
    key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    limits = {"COGNITION_API__RATE_LIMIT_BURST": "1000000", "COGNITION_API__RATE_LIMIT_PER_MINUTE": "1000000"}
    with _server(data_dir, port, **limits):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                CHECKS,
                "--max-examples",
                "25",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--generation-deterministic",
                "--request-timeout",
                "60",
                "--no-color",
            ],
            cwd=REPO_ROOT,
            env=subprocess_env(data_dir),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    report = done.stdout[-6000:]
    assert done.returncode == 0, report
    assert "27/27" in report  # every operation was tested
