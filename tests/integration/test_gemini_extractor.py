"""The Gemini graph extractor through the real google-genai client, against the local stub.

The stub answers each ``generateContent`` call by the marker in the passage it was given, so
one chunk of three can get a bad answer while the other two get good ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.gemini_stub import GeminiStub, count_tokens
from cognition.errors import ConfigurationError
from cognition.extract.gemini import GeminiExtractor, build_prompt, estimate_tokens
from cognition.extract.local import LocalExtractor
from cognition.governor import Governor, MemoryBackend, ProviderUnavailable, Quota, QuotaParked, QuotaTerminal
from cognition.governor.port import Day, Decision, Lane, Outcome
from cognition.runtime import make_extractor
from cognition.settings import Settings
from tests.integration.gemini_harness import ANSWERS, GOOD_TEXT, gemini_settings


def answer_of(prompt: str) -> str:
    """The scripted answer for the marker the passage holds (GOOD when it holds none)."""
    passage = prompt.split("<<<", 1)[1]
    return next((text for marker, text in ANSWERS.items() if marker in passage), ANSWERS["GOOD"])


@pytest.fixture
def stub() -> Iterator[GeminiStub]:
    with GeminiStub(answer=answer_of) as server:
        yield server


def settings_on(stub: GeminiStub, tmp_path: Path, concurrency: int = 2, **gemini: Any) -> Settings:
    quota = {
        "requests_per_minute": 1000,
        "tokens_per_minute": 1_000_000,
        "requests_per_day": 1000,
        "max_concurrency": concurrency,
    }
    settings = gemini_settings(stub, data_dir=tmp_path, extraction_quota=quota, **gemini)
    return settings.model_copy(
        update={"extraction": settings.extraction.model_copy(update={"extractor": "gemini"})}
    )


def extractor_on(stub: GeminiStub, tmp_path: Path, concurrency: int = 2, **gemini: Any) -> GeminiExtractor:
    extractor = make_extractor(settings_on(stub, tmp_path, concurrency, **gemini))
    assert isinstance(extractor, GeminiExtractor)
    return extractor


async def test_a_valid_answer_gives_the_entities_and_relations_with_local_keys(
    stub: GeminiStub, tmp_path: Path
) -> None:
    extractor = extractor_on(stub, tmp_path)
    try:
        [graph] = await extractor.extract([GOOD_TEXT])
    finally:
        await extractor.aclose()

    found = {(e.key, e.name, e.kind, e.category) for e in graph.entities}
    assert found == {
        ("git", "Git", "name", "technology"),
        ("ada lovelace", "Ada Lovelace", "name", "person"),
        ("repository", "repositories", "term", "concept"),
        ("git commit", "git commit", "code", "code"),
        ("the library", "the Library", "term", "something new"),  # unknown type, lowercase: a term
    }
    assert next(e for e in graph.entities if e.key == "git").description == "A version control system."
    # the relation to GitHub (no such entity) is dropped; has_chunk is structural, renamed
    assert {(r.source, r.target, r.name) for r in graph.relations} == {
        ("ada lovelace", "git", "wrote_about"),
        ("git", "repository", "stores_in"),
        ("git commit", "repository", "related_to"),
    }
    local = LocalExtractor().extract_one(GOOD_TEXT)
    assert {"git", "ada lovelace"} <= {e.key for e in local.entities}  # the same keys
    assert stub.stats["served"] == 1 and extractor.governor.stats["ok"] == 1


@pytest.mark.parametrize("bad", ["MALFORMED", "TRUNCATED", "OFFSCHEMA"])
async def test_a_bad_answer_empties_that_chunk_only(
    bad: str, stub: GeminiStub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    extractor = extractor_on(stub, tmp_path)
    texts = [f"first {GOOD_TEXT}", f"{bad} {GOOD_TEXT}", f"third {GOOD_TEXT}"]
    try:
        with caplog.at_level(logging.WARNING, logger="cognition.extract.gemini"):
            graphs = await extractor.extract(texts)
    finally:
        await extractor.aclose()

    assert [len(g.entities) for g in graphs] == [5, 0, 5]
    assert graphs[1].relations == [] and len(graphs[2].relations) == 3
    assert extractor.stats["bad_answers"] == 1 and extractor.stats["chunks"] == 3
    assert next(r.getMessage() for r in caplog.records if "keeps no entities" in r.getMessage()).startswith(
        "gemini-2.5-flash: chunk 1 of 3 keeps no entities"
    )
    # the governor admitted every call, the stub served every call, once each
    assert stub.stats["served"] == 3 and extractor.governor.stats["calls"] == 3
    assert extractor.governor.stats["ok"] == 3


async def test_a_per_day_429_parks_and_makes_no_further_call(stub: GeminiStub, tmp_path: Path) -> None:
    extractor = extractor_on(stub, tmp_path, concurrency=1)
    stub.script("day")
    try:
        with pytest.raises(QuotaParked, match=r"daily quota of gemini-2\.5-flash"):
            await extractor.extract(["one GOOD", "two GOOD", "three GOOD"])
        with pytest.raises(QuotaParked):  # parked until Pacific midnight: refused before calling
            await extractor.extract(["four GOOD"])
    finally:
        await extractor.aclose()
    assert len(stub.arrivals) == 1 and stub.stats["fault_day"] == 1


async def test_a_malformed_http_answer_is_a_provider_failure_not_an_empty_chunk(
    stub: GeminiStub, tmp_path: Path
) -> None:
    """A broken HTTP body is the provider failing (retry the work later), not the model's JSON."""
    extractor = extractor_on(stub, tmp_path, concurrency=1)
    stub.script("malformed")
    try:
        with pytest.raises(ProviderUnavailable):
            await extractor.extract(["one GOOD"])
        [graph] = await extractor.extract(["two GOOD"])
    finally:
        await extractor.aclose()
    assert len(graph.entities) == 5 and extractor.stats["bad_answers"] == 0


def test_the_gemini_extractor_without_a_key_says_which_setting(stub: GeminiStub, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"COGNITION_GEMINI__API_KEY.*EXTRACTOR=local"):
        make_extractor(settings_on(stub, tmp_path, api_key=None))


class RecordingBackend(MemoryBackend):
    """The in-process backend, noting each call's reservation and the usage it was reconciled with."""

    def __init__(self) -> None:
        super().__init__()
        self.reserved: list[int] = []
        self.used: list[int | None] = []

    async def acquire(
        self,
        key: str,
        ticket: str,
        tokens: int,
        quota: Quota,
        now: float,
        day: Day,
        lane: Lane = "bulk",
    ) -> Decision:
        self.reserved.append(tokens)
        return await super().acquire(key, ticket, tokens, quota, now, day, lane)

    async def release(
        self,
        key: str,
        ticket: str,
        used: int | None,
        outcome: Outcome,
        quota: Quota,
        now: float,
        blocked_until: float,
    ) -> None:
        self.used.append(used)
        await super().release(key, ticket, used, outcome, quota, now, blocked_until)


async def test_each_call_reserves_the_prompts_estimate_and_is_reconciled_with_the_reported_usage(
    stub: GeminiStub, tmp_path: Path
) -> None:
    backend = RecordingBackend()
    governor = Governor(backend, Quota(1000, 1_000_000, 1000, 2), "gemini-2.5-flash", "test")
    extractor = GeminiExtractor(settings_on(stub, tmp_path).gemini, governor)
    texts = ["short GOOD", f"longer GOOD {GOOD_TEXT * 20}"]
    try:
        await extractor.extract(texts)
    finally:
        await extractor.aclose()
    prompts = [build_prompt(text, 24) for text in texts]
    assert sorted(backend.reserved) == sorted(estimate_tokens(p) for p in prompts)
    assert sorted(u or 0 for u in backend.used) == sorted(
        count_tokens(p) for p in prompts
    )  # the stub's count


async def test_a_zero_quota_is_terminal(stub: GeminiStub, tmp_path: Path) -> None:
    extractor = extractor_on(stub, tmp_path, concurrency=1)
    stub.script("zero")
    try:
        with pytest.raises(QuotaTerminal, match="quota is zero or billing is off"):
            await extractor.extract(["one GOOD", "two GOOD"])
    finally:
        await extractor.aclose()
    assert len(stub.arrivals) == 1
