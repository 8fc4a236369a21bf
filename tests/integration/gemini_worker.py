"""A real Arq worker (``workers.settings.worker_options``, burst mode) whose rate governor
and circuit breaker run on the Gemini stub's clock, for the job-level tests of parking:
``python -m tests.integration.gemini_worker`` with the ``COGNITION_*`` environment of a
worker. The stub's clock is read over HTTP (``POST /_stub/clock``), so a test that advances
it (a day ends, a storm is over) moves this process's governor too. Nothing else differs
from ``cognition worker --burst``."""

from __future__ import annotations

import time
from typing import Any

import httpx

from cognition import logs
from cognition.embedding.gemini import GeminiEmbedder
from cognition.settings import get_settings
from workers.run import ResilientWorker
from workers.settings import worker_options


class StubClock:
    """The stub's clock: wall time plus the stub's offset, read at most every 0.05 s."""

    def __init__(self, url: str) -> None:
        self._url = f"{url}/_stub/clock"
        self._offset, self._read_at = 0.0, 0.0

    def __call__(self) -> float:
        now = time.time()
        if now - self._read_at > 0.05:
            answered = httpx.post(self._url, json={"advance": 0}, timeout=5).json()["now"]
            self._offset, self._read_at = float(answered) - time.time(), now
        return time.time() + self._offset


def main() -> None:
    settings = get_settings()
    assert settings.gemini.base_url is not None
    clock = StubClock(settings.gemini.base_url)
    options = worker_options(settings)
    startup = options["on_startup"]

    async def on_startup(ctx: dict[str, Any]) -> None:
        await startup(ctx)
        embedder = ctx["runtime"].runtime.embedder
        assert isinstance(embedder, GeminiEmbedder), "the tests turn the cache off"
        embedder.governor._clock = clock

    options["on_startup"] = on_startup
    logs.configure(settings)
    worker = ResilientWorker(**options, burst=True, lease_seconds=settings.queue.lease_seconds)
    worker.run()  # as ``workers.run.run_worker`` does


if __name__ == "__main__":
    main()
