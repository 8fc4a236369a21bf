"""The Gemini stub itself: what the tests of the providers rely on it to do."""

from __future__ import annotations

import httpx
import pytest

from bench.gemini_stub import GeminiStub, StubQuota, pacific_day

EMBED = "/v1beta/models/gemini-embedding-001:batchEmbedContents"
HEADERS = {"x-goog-api-key": "stub-key"}


def embed_body(*texts: str) -> dict[str, object]:
    return {"requests": [{"content": {"parts": [{"text": t}]}, "outputDimensionality": 8} for t in texts]}


def test_it_refuses_beyond_its_minute_with_a_google_shaped_429() -> None:
    with GeminiStub(StubQuota(requests_per_window=2, window_seconds=60)) as stub:
        answers = [httpx.post(stub.url + EMBED, json=embed_body("a"), headers=HEADERS) for _ in range(3)]
        stub.advance(60)  # its own clock: the minute is over
        after = httpx.post(stub.url + EMBED, json=embed_body("a"), headers=HEADERS)

    assert [a.status_code for a in answers] == [200, 200, 429] and after.status_code == 200
    error = answers[2].json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    failure, retry = error["details"][0], error["details"][-1]
    assert failure["@type"] == "type.googleapis.com/google.rpc.QuotaFailure"
    assert failure["violations"][0]["quotaId"] == "GenerateRequestsPerMinutePerProjectPerModel"
    assert retry["@type"] == "type.googleapis.com/google.rpc.RetryInfo" and retry["retryDelay"].endswith("s")
    assert 0 < float(retry["retryDelay"][:-1]) <= 60
    assert (stub.stats["served"], stub.stats["refused_429"]) == (3, 1)


def test_its_day_ends_at_pacific_midnight_on_its_clock() -> None:
    with GeminiStub(StubQuota(requests_per_day=1)) as stub:
        first = httpx.post(stub.url + EMBED, json=embed_body("a"), headers=HEADERS)
        second = httpx.post(stub.url + EMBED, json=embed_body("a"), headers=HEADERS)
        day = pacific_day(stub.now())
        moved = httpx.post(stub.url + "/_stub/clock", json={"advance": 86400})
        third = httpx.post(stub.url + EMBED, json=embed_body("a"), headers=HEADERS)

    assert (first.status_code, second.status_code, third.status_code) == (200, 429, 200)
    assert "PerDay" in second.json()["error"]["details"][0]["violations"][0]["quotaId"]
    assert pacific_day(moved.json()["now"]) != day


def test_it_counts_tokens_per_key_and_checks_the_key() -> None:
    with GeminiStub(StubQuota(tokens_per_window=10), api_keys=("k1", "k2")) as stub:
        big = "x" * 40  # 10 tokens
        ok = httpx.post(stub.url + EMBED, json=embed_body(big), headers={"x-goog-api-key": "k1"})
        over = httpx.post(stub.url + EMBED, json=embed_body("y"), headers={"x-goog-api-key": "k1"})
        other = httpx.post(stub.url + EMBED, json=embed_body(big), headers={"x-goog-api-key": "k2"})
        wrong = httpx.post(stub.url + EMBED, json=embed_body("y"), headers={"x-goog-api-key": "nope"})

    assert (ok.status_code, over.status_code, other.status_code, wrong.status_code) == (200, 429, 200, 400)
    assert len(ok.json()["embeddings"][0]["values"]) == 8


@pytest.mark.parametrize(
    ("kind", "status"),
    [("minute", 429), ("day", 429), ("zero", 429), ("unavailable", 503), ("malformed", 200)],
)
def test_scripted_faults_meet_the_next_requests_only(kind: str, status: int) -> None:
    with GeminiStub() as stub:
        stub.script(kind, count=2)  # type: ignore[arg-type]
        answers = [httpx.post(stub.url + EMBED, json=embed_body("a"), headers=HEADERS) for _ in range(3)]

    assert [a.status_code for a in answers] == [status, status, 200]
    assert stub.stats[f"fault_{kind}"] == 2 and stub.stats["served"] == 1
