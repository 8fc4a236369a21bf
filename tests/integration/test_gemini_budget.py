"""Budgets on the stub, through the real CLI: ``estimate`` counts what an import then pays
and calls nothing; a cap stops an import near it with a report; raising it resumes and no
chunk is paid twice; what is recorded per dataset and job is what the stub served."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from bench.gemini_stub import GeminiStub, count_tokens
from tests.conftest import CliRunner
from tests.helpers import last_json_line
from tests.integration.gemini_harness import ANSWERS, embedding_env, extraction_env

ANSWER = ANSWERS["GOOD"]
CONCURRENCY = 4  # the extraction quota's max_concurrency (a "batch" of calls in flight)


class Served:
    """The stub's answers, with every prompt it answered (a paid extraction call each)."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, prompt: str) -> str:
        with self._lock:
            self.prompts.append(prompt)
        return ANSWER


def _env(stub: GeminiStub) -> dict[str, str]:
    return {
        **extraction_env(stub),
        **embedding_env(stub),
        "COGNITION_GEMINI__BATCH_SIZE": "8",
        "COGNITION_GEMINI__EXTRACTION_QUOTA__MAX_CONCURRENCY": str(CONCURRENCY),
        "COGNITION_GEMINI__EXPECTED_OUTPUT_TOKENS": str(count_tokens(ANSWER)),
        "COGNITION_CHUNKING__TARGET_WORDS": "40",
        "COGNITION_CHUNKING__OVERLAP_WORDS": "5",
    }


def _models(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["model"]: m for m in data["models"]}


def test_estimate_matches_what_the_import_then_pays_and_calls_nothing(
    excerpts: dict[str, Path], run_cli: CliRunner, tmp_path: Path
) -> None:
    served = Served()
    with GeminiStub(answer=served) as stub:
        env = _env(stub)
        estimated = run_cli(
            "estimate",
            str(excerpts["git_objects"]),
            "-d",
            "est",
            "--format",
            "json",
            data_dir=tmp_path,
            **env,
        )
        calls_before_import = stub.stats["served"]
        counted = run_cli(
            "estimate", str(excerpts["git_objects"]), "-d", "est", "--format", "json", "--count", "api",
            data_dir=tmp_path, **env,
        )  # fmt: skip
        counted_calls, paid_while_counting = stub.stats["count_tokens"], stub.stats["served"]
        keyless = run_cli(
            "estimate", str(excerpts["git_objects"]), "-d", "est", "--count", "api",
            data_dir=tmp_path, **{**env, "COGNITION_GEMINI__API_KEY": ""},
        )  # fmt: skip
        done = run_cli(
            "import", str(excerpts["git_objects"]), "-d", "est", "--json", data_dir=tmp_path, **env
        )
        again = run_cli(
            "estimate",
            str(excerpts["git_objects"]),
            "-d",
            "est",
            "--format",
            "json",
            data_dir=tmp_path,
            **env,
        )

    assert estimated.returncode == 0, estimated.stderr[-2000:]
    assert calls_before_import == 0  # estimating called no model
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(estimated.stdout)
    spend = last_json_line(done.stdout)["spend"]
    assert figures["calls"] == spend["calls"] == stub.stats["served"]
    for model, paid in spend["models"].items():
        guess = _models(figures)[model]
        # The stub counts tokens by the estimator's rule, so input is exact here; output is the
        # expected answer size the settings give, which is the stub's answer size in this test.
        assert (guess["calls"], guess["input_tokens"], guess["output_tokens"]) == (
            paid["calls"],
            paid["input_tokens"],
            paid["output_tokens"],
        ), (model, guess, paid)
        assert guess["cost"] == pytest.approx(paid["cost"], rel=1e-3)  # each rounded to 6 places
    # Counted by the API's countTokens: the same figures here (the stub counts by that rule),
    # with the counting calls made and still no paid call.
    assert counted.returncode == 0, counted.stderr[-2000:]
    by_api = json.loads(counted.stdout)
    assert "countTokens" in by_api["input_counting"] and counted_calls > 0 and paid_while_counting == 0
    assert _models(by_api) == _models(figures)
    assert keyless.returncode == 2 and "COGNITION_GEMINI__API_KEY" in keyless.stderr
    # Stored now: nothing left to pay for.
    after = json.loads(again.stdout)
    assert after["documents"] == 0 and after["calls"] == 0 and len(after["already_stored"]) == 1


def test_a_cap_stops_the_import_near_it_and_raising_it_resumes_without_paying_twice(
    excerpts: dict[str, Path], run_cli: CliRunner, tmp_path: Path
) -> None:
    served = Served()
    book = str(excerpts["git_objects"])
    with GeminiStub(answer=served) as stub:
        env = _env(stub)
        total = json.loads(
            run_cli("estimate", book, "-d", "cap", "--format", "json", data_dir=tmp_path, **env).stdout
        )
        tokens = sum(m["input_tokens"] + m["output_tokens"] for m in total["models"])
        cap = tokens // 2
        stopped = run_cli(
            "import", book, "-d", "cap", "--max-tokens", str(cap), "--json", data_dir=tmp_path, **env
        )
        first = list(served.prompts)
        shown = run_cli("budget", "show", "cap", "--json", data_dir=tmp_path, **env)
        resumed = run_cli("import", book, "-d", "cap", "--json", data_dir=tmp_path, **env)
        second = served.prompts[len(first) :]
        embedded = stub.task_types["RETRIEVAL_DOCUMENT"]

    assert stopped.returncode == 3, stopped.stderr[-2000:]
    report = last_json_line(stopped.stdout)
    assert report["budget"]["scope"] == "job" and report["budget"]["cap"] == cap
    assert len(report["budget"]["left"]) == 1  # the document in flight, left to resume
    assert "raise" in report["budget"]["reason"] or "higher --max-tokens" in report["budget"]["reason"]
    spent = report["spend"]["input_tokens"] + report["spend"]["output_tokens"]
    per_call = max(count_tokens(p) for p in first) + count_tokens(ANSWER)
    assert spent <= cap  # never past it (the stub's usage is what the estimate reserved)
    # Stopped within one batch of it: the extraction calls one batch holds in flight (or one
    # embedding call, when the cap falls there: 8 texts of at most ~400 tokens each).
    assert cap - spent <= max(CONCURRENCY * per_call, 8 * 400)
    # Recorded per dataset = what the stub served, by its own counts.
    recorded = json.loads(shown.stdout)["spend"]
    extraction = recorded["models"]["gemini-2.5-flash"]
    assert extraction["calls"] == len(first)
    assert extraction["input_tokens"] == sum(count_tokens(p) for p in first)
    assert extraction["output_tokens"] == len(first) * count_tokens(ANSWER)
    assert recorded["calls"] == report["spend"]["calls"]
    # Resumed: stored, and no chunk's extraction was paid twice.
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert last_json_line(resumed.stdout)["added"] == 1
    assert not set(first) & set(second)
    assert len(first) + len(second) == total["models"][0]["calls"] == len(set(first + second))
    assert embedded == total["chunks"]  # nor any chunk's embedding


def test_a_dataset_cap_is_set_shown_and_refused_when_bad(
    excerpts: dict[str, Path], run_cli: CliRunner, tmp_path: Path
) -> None:
    book = str(excerpts["git_objects"])
    with GeminiStub(answer=Served()) as stub:
        env = _env(stub)
        unknown = run_cli("budget", "set", "nope", "--max-cost", "1", data_dir=tmp_path, **env)
        unknown_shown = run_cli("budget", "show", "nope", data_dir=tmp_path, **env)
        created = run_cli(
            "budget", "set", "fresh", "--max-tokens", "10", "--create", data_dir=tmp_path, **env
        )
        fresh = run_cli("budget", "show", "fresh", "--json", data_dir=tmp_path, **env)
        bad_name = run_cli(
            "budget", "set", "no/slash", "--max-tokens", "1", "--create", data_dir=tmp_path, **env
        )
        # A dataset exists once something was imported into it: a cap of $0 stops the first call.
        first = run_cli("import", book, "-d", "dc", "--max-cost", "0", "--json", data_dir=tmp_path, **env)
        set_low = run_cli("budget", "set", "dc", "--max-cost", "0.000001", data_dir=tmp_path, **env)
        negative = run_cli("budget", "set", "dc", "--max-tokens", "-5", data_dir=tmp_path, **env)
        negative_job = run_cli("import", book, "-d", "dc", "--max-cost", "-1", data_dir=tmp_path, **env)
        stopped = run_cli("import", book, "-d", "dc", "--json", data_dir=tmp_path, **env)
        served_while_capped = stub.stats["served"]
        raised = run_cli("budget", "set", "dc", "--max-cost", "5", data_dir=tmp_path, **env)
        resumed = run_cli("import", book, "-d", "dc", "--json", data_dir=tmp_path, **env)
        shown = run_cli("budget", "show", "dc", "--json", data_dir=tmp_path, **env)

    for refused in (unknown, unknown_shown):
        assert refused.returncode == 2 and "no dataset named 'nope'" in refused.stderr
    assert created.returncode == 0, created.stderr
    assert json.loads(fresh.stdout)["budget"] == {
        "max_tokens": 10,
        "max_cost": None,
        "tokens_left": 10,
        "cost_left": None,
    }
    assert bad_name.returncode == 2 and bad_name.stderr.startswith("error: ")
    assert first.returncode == 3 and last_json_line(first.stdout)["spend"]["calls"] == 0
    assert set_low.returncode == 0, set_low.stderr
    for refused, option in ((negative, "--max-tokens"), (negative_job, "--max-cost")):
        assert refused.returncode == 2
        assert (
            f"Invalid value for '{option}'" in refused.stderr
            and "greater than or equal to 0" in refused.stderr
        )
    assert stopped.returncode == 3
    assert last_json_line(stopped.stdout)["budget"]["scope"] == "dataset"
    assert served_while_capped == 0
    assert raised.returncode == 0 and resumed.returncode == 0, resumed.stderr[-2000:]
    body = json.loads(shown.stdout)
    assert body["budget"]["max_cost"] == 5 and body["spend"]["calls"] == stub.stats["served"]
    assert 0 < body["spend"]["cost"] < 5 and body["budget"]["cost_left"] == pytest.approx(
        5 - body["spend"]["cost"]
    )
