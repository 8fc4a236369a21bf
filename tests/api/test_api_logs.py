"""The server's log as a log collector reads it: one JSON object per line, each request's
line tagged with its id (the caller's, when it is a plain token), and no credential in it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from bench.api_server import served_api
from bench.redis_server import free_port
from tests.helpers import subprocess_env

WRONG_KEY = "cog_wrongwrongwrongwrongwrong"


def test_each_request_is_logged_as_json_with_its_id_and_no_key(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    env = subprocess_env(tmp_path / "data", COGNITION_LOG_FORMAT="json", COGNITION_LOG_LEVEL="INFO")
    with served_api(tmp_path / "data", port, env, log):
        base = f"http://127.0.0.1:{port}"
        given = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "probe-1"}, timeout=30)
        forged = httpx.get(f"{base}/healthz", headers={"X-Request-ID": "x\tINFO forged line"}, timeout=30)
        refused = httpx.get(
            f"{base}/v1/datasets", headers={"Authorization": f"Bearer {WRONG_KEY}"}, timeout=30
        )

    assert given.headers["x-request-id"] == "probe-1"
    made = forged.headers["x-request-id"]
    assert len(made) == 32 and made != "x\tINFO forged line"  # replaced by an id of the server's
    assert refused.status_code == 401
    text = log.read_text()
    assert WRONG_KEY not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    requests = {r["request_id"]: r["message"] for r in lines if r["logger"] == "api.requests"}
    assert requests["probe-1"].startswith("GET /healthz 200 ")
    assert requests[made].startswith("GET /healthz 200 ")
    assert requests[refused.headers["x-request-id"]].startswith("GET /v1/datasets 401 ")
