"""An Arq worker embedding with Gemini, killed in the middle of a book: the worker that
takes the job over pays the stub for no chunk twice (the cache of paid results is kept per
paid batch, in the data directory every worker of the host shares)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.gemini_stub import GeminiStub
from bench.redis_server import RedisServer
from tests.helpers import new_dataset_name
from tests.integration.gemini_harness import embedding_env
from tests.integration.test_gemini_cache import cached_rows, embedded
from tests.integration.test_queue import Workers, records

pytestmark = pytest.mark.slow


@pytest.fixture
def stub() -> Iterator[GeminiStub]:
    with GeminiStub() as server:
        yield server


def test_a_worker_killed_mid_book_and_replaced_pays_for_no_chunk_twice(
    stub: GeminiStub,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
    excerpts: dict[str, Path],
) -> None:
    queue = f"test:{new_dataset_name('gemini-killed')}"
    logs = tmp_path / "logs"
    logs.mkdir()
    common = {
        "COGNITION_QUEUE__LEASE_SECONDS": "3",
        "COGNITION_QUEUE__LOCK_SECONDS": "3",
        "COGNITION_QUEUE__IMPORT_ROOTS": str(tmp_path_factory.getbasetemp()),
        **embedding_env(stub, COGNITION_GEMINI__BATCH_SIZE="2"),
    }
    # The first worker's governor admits two calls an hour: it stalls before its third batch.
    stalled = Workers(
        tmp_path / "data",
        redis_server,
        queue,
        logs,
        **common,
        COGNITION_GEMINI__EMBEDDING_QUOTA__REQUESTS_PER_MINUTE="2",
        COGNITION_GEMINI__EMBEDDING_QUOTA__WINDOW_SECONDS="3600",
    )
    replacement = Workers(tmp_path / "data", redis_server, queue, logs, **common)
    try:
        assert stalled.submit([excerpts["git_objects"]], "objects").returncode == 0
        victim = stalled.start(burst=False)
        for _ in range(1200):  # up to 120 s
            if cached_rows(stalled.data_dir) >= 4 or victim.poll() is not None:
                break
            time.sleep(0.1)
        assert victim.poll() is None, stalled.log_text()
        assert (embedded(stub), cached_rows(stalled.data_dir)) == (4, 4)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)

        replacement.start()  # burst: takes the job once the dead worker's lease has expired
        replacement.wait()
    finally:
        stalled.stop()
        replacement.stop()
    [row] = records(replacement.data_dir, "objects")
    assert row.state == "stored", replacement.log_text()
    assert row.attempts == 2  # the killed attempt and the one that finished
    assert row.chunks > 4
    assert embedded(stub) == row.chunks  # every chunk paid for exactly once
