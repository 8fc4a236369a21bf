"""The API served by uvicorn in a child process on 127.0.0.1 (benchmarks and tests)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

START_SECONDS = 240.0  # a server that does not answer /healthz by then failed to start


@contextmanager
def served_api(
    data_dir: Path, port: int, env: Mapping[str, str], log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``uvicorn api.main:app`` with ``env`` (which names the data dir and settings), once it
    answers ``/healthz``; terminated (if still running) when the block ends."""
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        command, cwd=Path(__file__).resolve().parents[1], env=dict(env), stdout=out, stderr=out
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start (exit {process.poll()}); see {log}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        if log is not None:
            out.close()  # type: ignore[union-attr]


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
