"""An import through the real CLI with ``extraction.extractor=gemini``, against the stub: the
document is stored with the stub's entities, and one bad answer costs one chunk, not the book."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from bench.gemini_stub import GeminiStub
from tests.conftest import CliRunner
from tests.helpers import last_json_line
from tests.integration.gemini_harness import ANSWERS, extraction_env


class FirstAnswerMalformed:
    """The stub's answers: the first request gets prose instead of JSON, every other a good graph."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, prompt: str) -> str:
        with self._lock:
            self.calls += 1
            return ANSWERS["MALFORMED"] if self.calls == 1 else ANSWERS["GOOD"]


def test_a_cli_import_stores_the_entities_gemini_found(
    excerpts: dict[str, Path], run_cli: CliRunner, tmp_path: Path
) -> None:
    answers = FirstAnswerMalformed()
    with GeminiStub(answer=answers) as stub:
        env = extraction_env(stub)
        done = run_cli(
            "import",
            str(excerpts["git_objects"]),
            "--dataset",
            "gem",
            "--json",
            data_dir=tmp_path,
            **env,
            COGNITION_LOG_FORMAT="json",
        )
        described = run_cli("describe", "gem", "--json", data_dir=tmp_path, **env)
        found = run_cli(
            "search", "Ada Lovelace", "--dataset", "gem", "--top-k", "20", "--json", data_dir=tmp_path, **env
        )

    assert done.returncode == 0, done.stderr[-2000:]
    summary = last_json_line(done.stdout)
    assert summary["failed"] == [], summary
    body = json.loads(described.stdout)
    assert body["documents"] == {"stored": 1}, body
    assert stub.stats["served"] == body["chunks"] == answers.calls  # one call per chunk, none repeated
    # The bad answer's warning reaches the operator (cognee's logging used to drop it), as JSON
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    warned = [r for r in logged if r["logger"] == "cognition.extract.gemini" and r["level"] == "WARNING"]
    assert len(warned) == 1 and "keeps no entities" in warned[0]["message"], done.stderr[-2000:]
    assert body["stats"]["entities"] == 5  # the stub's five, one node each across the chunks
    hits = json.loads(found.stdout)["hits"]
    assert len(hits) == body["chunks"]
    names = sorted(sorted(hit["entities"]) for hit in hits)
    stubs = sorted(e["name"] for e in json.loads(ANSWERS["GOOD"])["entities"])
    assert names == [[]] + [stubs] * (body["chunks"] - 1)  # the badly answered chunk has none
