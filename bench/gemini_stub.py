"""A stand-in for the Gemini API on 127.0.0.1, for tests and benchmarks.

The real ``google-genai`` client talks to it through ``HttpOptions(base_url=stub.url)``:
``POST /v1beta/models/{model}:batchEmbedContents`` answers deterministic unit vectors (from a
hash of each text) of the requested ``outputDimensionality``; ``…:generateContent`` answers a
scripted text (``answer``: one text, or a function of the prompt) with ``usageMetadata``;
``…:countTokens`` counts (free, no quota, ``stats["count_tokens"]``).
Like the real service it checks the API key and enforces quotas per (model, key) — requests
and input tokens per window (a sliding "minute" whose length a test chooses, so a test takes
seconds), requests per Pacific day — and refuses with a 429 shaped like Google's
(``QuotaFailure`` violations and a ``RetryInfo.retryDelay``).

The stub keeps its own clock (wall time plus an offset a test advances, ``advance()`` or
``POST /_stub/clock {"advance": 86400}``), faults can be scripted for the next requests
(``script()``), and ``stats`` counts what was served and refused. It runs its own event loop
in a thread, so a test's loop, or other processes, are its clients.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from aiohttp import web

from bench.redis_server import free_port

PACIFIC = ZoneInfo("America/Los_Angeles")
FaultKind = Literal["minute", "day", "zero", "unavailable", "slow", "malformed"]
_QUOTA_METRIC = "generativelanguage.googleapis.com/{what}"


@dataclass
class StubQuota:
    """The quotas the stub enforces per (model, key)."""

    requests_per_window: int = 1_000_000
    tokens_per_window: int = 1_000_000_000
    requests_per_day: int = 1_000_000_000
    window_seconds: float = 60.0  # the stub's "minute"


@dataclass
class Fault:
    kind: FaultKind
    retry_delay: float = 17.0  # what RetryInfo says (minute faults)
    seconds: float = 0.0  # how long a slow answer takes


@dataclass
class _Usage:
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    days: Counter[str] = field(default_factory=Counter)


def count_tokens(text: str) -> int:
    """The stub's token count: about four characters a token, as Google's guidance says."""
    return max(1, math.ceil(len(text) / 4))


def stub_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector of ``text`` (the same text, the same vector)."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    values = np.random.default_rng(seed).standard_normal(dimensions)
    return [float(v) for v in values / np.linalg.norm(values)]


def pacific_day(now: float) -> str:
    return datetime.fromtimestamp(now, PACIFIC).date().isoformat()


class GeminiStub:
    """``with GeminiStub(quota) as stub: ...`` serves on ``stub.url`` until the block ends."""

    def __init__(
        self,
        quota: StubQuota | None = None,
        api_keys: tuple[str, ...] = ("stub-key",),
        answer: str | Callable[[str], str] = '{"entities": [], "relations": []}',
        latency: float = 0.0,
    ) -> None:
        self.quota = quota or StubQuota()
        self.api_keys = set(api_keys)
        self.answer = answer
        self.latency = latency  # seconds every model request takes, before its answer
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = free_port()
        self.offset = 0.0
        self.stats: Counter[str] = Counter()
        self.arrivals: list[float] = []  # stub-clock instants of every model request
        self.task_types: Counter[str] = Counter()  # embedded texts per taskType
        self.served_texts: Counter[str] = Counter()  # how often each text was answered (paid)
        self._usage: dict[tuple[str, str], _Usage] = {}
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def now(self) -> float:
        """The stub's clock (epoch seconds)."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds

    def script(
        self, kind: FaultKind, count: int = 1, retry_delay: float = 17.0, seconds: float = 0.0
    ) -> None:
        """The next ``count`` model requests meet this fault instead of the quota check."""
        with self._lock:
            self._faults.extend(Fault(kind, retry_delay, seconds) for _ in range(count))

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> GeminiStub:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="gemini-stub", daemon=True)
        self._thread.start()
        if not ready.wait(20):
            raise RuntimeError("the Gemini stub did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(20)

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_post("/{version}/models/{spec}", self._model_call)
        app.router.add_post("/_stub/clock", self._clock)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    # -- handlers ------------------------------------------------------------------------

    async def _clock(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.advance(float(body.get("advance", 0)))
        return web.json_response({"now": self.now()})

    async def _model_call(self, request: web.Request) -> web.StreamResponse:
        """Counts the requests in flight around ``_handle`` (for concurrency assertions)."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._handle(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["spec"].partition(":")
        key = request.headers.get("x-goog-api-key") or request.query.get("key", "")
        if key not in self.api_keys:
            self._count("rejected_key")
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if method not in ("batchEmbedContents", "generateContent", "countTokens"):
            return _error(404, "NOT_FOUND", f"method {method!r} is not served by the stub")
        body = await request.json()
        if method == "countTokens":  # free, with a quota of its own the stub does not enforce
            self._count("count_tokens")
            return web.json_response({"totalTokens": sum(count_tokens(t) for t in _texts(body, method))})
        texts = _texts(body, method)
        with self._lock:
            now = self.now()
            self.arrivals.append(now)
            self.task_types.update(str(r.get("taskType")) for r in body.get("requests", []))
            fault = self._faults.popleft() if self._faults else None
            refusal = (
                self._admit(model, key, sum(count_tokens(t) for t in texts), now) if fault is None else None
            )
        if fault is not None:
            return await self._fault(fault, model, body, method, texts)
        if refusal is not None:
            self._count("refused_429")
            return refusal
        with self._lock:
            self.served_texts.update(texts)
        self._count("served")
        return self._answer(body, method, texts)

    def _admit(self, model: str, key: str, tokens: int, now: float) -> web.Response | None:
        """Count the request against the quotas, or the 429 that refuses it (not counted)."""
        usage = self._usage.setdefault((model, key), _Usage())
        window = self.quota.window_seconds
        while usage.requests and usage.requests[0] <= now - window:
            usage.requests.popleft()
        while usage.tokens and usage.tokens[0][0] <= now - window:
            usage.tokens.popleft()
        day = pacific_day(now)
        if usage.days[day] >= self.quota.requests_per_day:
            return quota_error(model, "day", self.quota.requests_per_day, None)
        if len(usage.requests) >= self.quota.requests_per_window:
            return quota_error(
                model, "minute", self.quota.requests_per_window, usage.requests[0] + window - now
            )
        if sum(t for _, t in usage.tokens) + tokens > self.quota.tokens_per_window:
            free_at = usage.tokens[0][0] + window if usage.tokens else now + window
            return quota_error(model, "tokens", self.quota.tokens_per_window, free_at - now)
        usage.requests.append(now)
        usage.tokens.append((now, tokens))
        usage.days[day] += 1
        return None

    async def _fault(
        self, fault: Fault, model: str, body: dict[str, Any], method: str, texts: list[str]
    ) -> web.StreamResponse:
        self._count(f"fault_{fault.kind}")
        if fault.kind == "minute":
            return quota_error(model, "minute", self.quota.requests_per_window, fault.retry_delay)
        if fault.kind == "day":
            return quota_error(model, "day", self.quota.requests_per_day, None)
        if fault.kind == "zero":
            return quota_error(model, "zero", 0, None)
        if fault.kind == "unavailable":
            return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        if fault.kind == "malformed":
            return web.Response(
                status=200, text='{"embeddings": [{"values": [0.1,', content_type="application/json"
            )
        await asyncio.sleep(fault.seconds)  # slow
        return self._answer(body, method, texts)

    def _answer(self, body: dict[str, Any], method: str, texts: list[str]) -> web.Response:
        if method == "batchEmbedContents":
            vectors = [
                {"values": stub_vector(text, int(req.get("outputDimensionality") or 768))}
                for text, req in zip(texts, body.get("requests", []), strict=True)
            ]
            return web.json_response({"embeddings": vectors})
        prompt = sum(count_tokens(t) for t in texts)
        text = self.answer("".join(texts)) if callable(self.answer) else self.answer
        answer = count_tokens(text)
        return web.json_response(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
                ],
                "usageMetadata": {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": answer,
                    "totalTokenCount": prompt + answer,
                },
            }
        )

    def _count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1


def _texts(body: dict[str, Any], method: str) -> list[str]:
    """The input texts of a request, one per embedded text, or the prompt's parts."""
    if method == "batchEmbedContents":
        contents = [req.get("content", {}) for req in body.get("requests", [])]
        return ["".join(p.get("text", "") for p in content.get("parts", [])) for content in contents]
    return [p.get("text", "") for c in body.get("contents", []) for p in c.get("parts", [])]


def _error(
    status: int, code_name: str, message: str, details: list[dict[str, Any]] | None = None
) -> web.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": code_name}
    if details is not None:
        error["details"] = details
    return web.json_response({"error": error}, status=status)


def quota_error(model: str, which: str, limit: int, retry_delay: float | None) -> web.Response:
    """A 429 as Gemini sends it: which quota (``QuotaFailure``) and when to come back
    (``RetryInfo``, absent when only the next day helps)."""
    quota_id, metric = {
        "minute": ("GenerateRequestsPerMinutePerProjectPerModel", "generate_content_requests"),
        "tokens": ("GenerateContentInputTokensPerModelPerMinute", "generate_content_input_token_count"),
        "day": ("GenerateRequestsPerDayPerProjectPerModel", "generate_content_requests"),
        "zero": ("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "generate_content_free_tier_requests"),
    }[which]
    violation = {
        "quotaMetric": _QUOTA_METRIC.format(what=metric),
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": model},
        "quotaValue": str(limit),
    }
    details: list[dict[str, Any]] = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]},
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{"description": "quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}],
        },
    ]
    if retry_delay is not None:
        delay = f"{max(retry_delay, 0.001):.3f}".rstrip("0").rstrip(".")
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{delay}s"})
    message = (
        f"You exceeded your current quota, please check your plan and billing details. "
        f"Quota exceeded for metric: {violation['quotaMetric']}, limit: {limit}, model: {model}"
    )
    return _error(429, "RESOURCE_EXHAUSTED", message, details)
