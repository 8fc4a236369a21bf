"""``/readyz`` of a served API on Postgres (the ledger, and cognee's tables in a database of
their own on the same server): 200 with every backend listed ok, then, with Postgres
stopped, 503 naming the ledger and cognee's tables, without the password anywhere."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from bench.api_server import served_api
from bench.postgres_server import PostgresServer
from bench.redis_server import RedisServer, free_port
from tests.helpers import subprocess_env

BOUND = 240.0  # seconds a wait below may take at most


def _ready(base: str) -> httpx.Response:
    deadline = time.monotonic() + BOUND
    while True:
        answer = httpx.get(f"{base}/readyz", timeout=60)
        if answer.status_code == 200 or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_readiness_names_each_backend_and_a_stopped_postgres_makes_it_503(tmp_path: Path) -> None:
    server = PostgresServer()  # a cluster of its own: this test stops it
    server.start()
    try:
        url = server.create_database("library")
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = subprocess_env(data_dir, COGNITION_LEDGER__URL=url)
        log = tmp_path / "server.log"
        with served_api(data_dir, port, env, log):
            up = _ready(base)
            assert up.status_code == 200, up.text
            assert up.json()["checks"] == {"ledger": "ok", "graph": "ok", "vectors": "ok", "cognee_db": "ok"}
            assert [check["name"] for check in up.json()["backends"]] == [
                "ledger",
                "graph",
                "vectors",
                "cognee_db",
            ]

            server.stop()
            down = httpx.get(f"{base}/readyz", timeout=60)

        assert down.status_code == 503, down.text
        body = down.json()
        assert body["status"] == "not_ready"
        failed = {check["name"]: check["error"] for check in body["backends"] if not check["ok"]}
        assert set(failed) == {"ledger", "cognee_db"}, body
        assert "Postgres" in failed["ledger"] and "***" in failed["ledger"], failed
        assert body["checks"]["graph"] == "ok" and body["checks"]["vectors"] == "ok"
        assert server.password not in down.text
        assert server.password not in log.read_text(errors="replace")
        assert not (data_dir / "ledger.sqlite3").exists()
        assert not list(data_dir.rglob("cognee_db*")), "cognee wrote its SQLite file"
    finally:
        server.stop()


def test_a_stopped_redis_makes_readiness_503_naming_redis_without_its_password(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis", password="s3cret-of-this-test")
    redis.start()
    try:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        queue = {"COGNITION_QUEUE__REDIS_URL": redis.url, "COGNITION_QUEUE__NAME": "readyz"}
        with served_api(data_dir, port, subprocess_env(data_dir, **queue), tmp_path / "server.log"):
            up = _ready(base)
            assert up.status_code == 200 and up.json()["checks"]["redis"] == "ok", up.text

            redis.stop()
            down = httpx.get(f"{base}/readyz", timeout=60)

        assert down.status_code == 503, down.text
        failed = {check["name"] for check in down.json()["backends"] if not check["ok"]}
        assert failed == {"redis"}, down.text
        assert "s3cret-of-this-test" not in down.text
    finally:
        redis.stop()
