"""One worker process of ``bench/scale.py``: ``cognition worker --burst`` with its
coordination timed, written as one JSON object to OUT when it exits.

    python -m bench.scale_worker OUT   (started by bench.scale; settings from COGNITION_*)

Timed, by wrapping the classes (the worker's code is the real one):

- ``lock_wait``: from asking for a dataset's write gate (the Redis lease lock, then the host's
  file lock: ``cognition.gate.Gates.hold``) until it is held, and ``lock_held``, how long it
  is then held (the writes of one dataset, one process at a time across all hosts);
- ``ledger``: every call of the ledger's public methods (Postgres round trips; a call made
  inside another is counted once, in the outer one).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from cognition.gate import Gates
from cognition.ledger.postgres import PostgresLedger
from cognition.settings import get_settings
from workers.run import run_worker

SECONDS: Counter[str] = Counter()
CALLS: Counter[str] = Counter()
_depth = threading.local()


def _timed_ledger(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "n", 0)
        _depth.n = depth + 1
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            _depth.n = depth
            if depth == 0:
                SECONDS["ledger"] += time.perf_counter() - began
                CALLS["ledger"] += 1

    return call


def _instrument() -> None:
    for name in dir(PostgresLedger):
        member = getattr(PostgresLedger, name)
        if not name.startswith("_") and callable(member) and not isinstance(member, type):
            setattr(PostgresLedger, name, _timed_ledger(member))
    held = Gates.hold

    @contextlib.asynccontextmanager
    async def hold(self: Gates, dataset: str) -> AsyncIterator[None]:
        began = time.perf_counter()
        async with held(self, dataset):
            entered = time.perf_counter()
            SECONDS["lock_wait"] += entered - began
            CALLS["lock_wait"] += 1
            try:
                yield
            finally:
                SECONDS["lock_held"] += time.perf_counter() - entered

    Gates.hold = hold  # type: ignore[method-assign]


def main() -> None:
    out = Path(sys.argv[1])
    _instrument()
    atexit.register(lambda: out.write_text(json.dumps({"seconds": SECONDS, "calls": CALLS})))
    CALLS["jobs_failed"] = run_worker(get_settings(), burst=True)


if __name__ == "__main__":
    main()
