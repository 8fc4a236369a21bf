"""The circuit's state where an operator looks: ``cognition governor``, ``/readyz`` and
``/metrics`` of a real server, all reading the shared Redis in which callers of this process
opened the circuit against the stub."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from bench.api_server import served_api
from bench.gemini_stub import GeminiStub
from bench.redis_server import RedisServer, free_port
from cognition.embedding.gemini import GeminiEmbedder
from cognition.governor import ProviderUnavailable
from cognition.governor.breaker import CircuitState
from cognition.paths import DataPaths
from cognition.runtime import make_embedder
from tests.helpers import CliRunner, subprocess_env
from tests.integration.gemini_harness import MODEL, embedding_env, gemini_settings

pytestmark = pytest.mark.slow


async def open_the_circuit(stub: GeminiStub, redis_url: str, queue: str, data_dir: Path) -> CircuitState:
    settings = gemini_settings(stub, redis_url, data_dir=data_dir, breaker_failures=2)
    settings.queue.name = queue
    embedder = make_embedder(settings, DataPaths.of(settings))
    assert isinstance(embedder, GeminiEmbedder) and embedder.governor.breaker is not None
    stub.script("unavailable", count=2)
    try:
        for n in range(2):
            with pytest.raises(ProviderUnavailable):
                await embedder.embed([f"failing {n}"])
        return await embedder.governor.breaker.state()
    finally:
        await embedder.aclose()


async def test_an_open_circuit_shows_in_the_cli_in_readyz_and_in_metrics(
    redis_server: RedisServer, tmp_path: Path, run_cli: CliRunner, excerpts: dict[str, Path]
) -> None:
    data_dir, queue = tmp_path / "data", f"test-{uuid.uuid4().hex}"
    with GeminiStub() as stub:
        env = embedding_env(
            stub,
            COGNITION_QUEUE__REDIS_URL=redis_server.url,
            COGNITION_QUEUE__NAME=queue,
            COGNITION_GEMINI__BREAKER_FAILURES="2",
        )
        imported = run_cli(
            "import", str(excerpts["git_objects"]), "--dataset", "books", data_dir=data_dir, **env
        )
        assert imported.returncode == 0, imported.stderr[-2000:]
        paid = len(stub.arrivals)
        before = run_cli("governor", "--json", data_dir=data_dir, **env)
        state = await open_the_circuit(stub, redis_server.url, queue, data_dir)
        shown = run_cli("governor", "--json", data_dir=data_dir, **env)
        text = run_cli("governor", data_dir=data_dir, **env)
        made = run_cli("keys", "create", "ops", "--grant", "admin:*", data_dir=data_dir)
        headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
        port = free_port()
        with served_api(data_dir, port, subprocess_env(data_dir, **env), tmp_path / "server.log"):
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=120)
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=120).text
            httpx.post(
                f"http://127.0.0.1:{port}/v1/datasets", json={"name": "books"}, headers=headers, timeout=60
            )
            search = httpx.post(
                f"http://127.0.0.1:{port}/v1/search",
                json={"query": "git tree object", "datasets": ["books"]},
                headers=headers,
                timeout=60,
            )
        sent = len(stub.arrivals) - paid

    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["models"][0]["circuit"] == "closed"
    assert shown.returncode == 0, shown.stderr
    model = json.loads(shown.stdout)["models"][0]
    assert json.loads(shown.stdout)["shared"] is True
    assert model["model"] == MODEL and model["circuit"] == "open" and model["open_until"] == state.until
    assert "circuit open until" in text.stdout and MODEL in text.stdout
    assert ready.status_code == 200  # still serves what is stored
    body = ready.json()
    assert body["status"] == "degraded" and body["checks"]["redis"] == "ok"
    assert body["degraded"] == [f"{MODEL}: circuit open until {_iso(state.until)} after repeated failures"]
    assert body["governor"][0]["circuit"] == "open"
    assert f'cognition_governor_circuit_state{{model="{MODEL}",role="embedding"}} 2.0' in metrics
    assert f'cognition_governor_open_until_seconds{{model="{MODEL}",role="embedding"}}' in metrics
    assert search.status_code == 503 and search.json()["error"] == "CircuitOpen", search.text
    assert (
        search.json()["retryable"] is True and 1 <= int(search.headers["retry-after"]) <= 60
    )  # the circuit opens for 60 s
    assert sent == 2  # reading the state made no call, nor did the search


def _iso(when: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
