"""Write gates: one writer per dataset at a time, across processes.

cognee's own per-dataset lock lives in one process. Two processes writing one dataset make
duplicate keys and "database is locked" errors, and Ladybug refuses a second process
outright ("Could not set lock on file"). Every store mutation of the importer therefore runs
inside ``gate.hold(dataset)``; reading, chunking, extraction and embedding run outside it.

``FileGate`` is the embedded configuration's gate: an ``flock`` on a file per dataset in the
data directory. The kernel releases it when its holder dies, even by kill -9, so it needs
no lease. Workers on several hosts add a Redis lease lock in front of it (``workers/``).

Readers of files that admit one process at a time (Ladybug's) take the same file shared
(:meth:`FileGate.hold_shared`): they wait for the write in progress (one batch, about a
second) and are refused with ``StoreBusy`` after a bounded wait, instead of failing on the
database's own lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Protocol

from cognition.errors import StoreBusy


class WriteGate(Protocol):
    """Admits one writer per dataset at a time."""

    def hold(self, dataset: str) -> AbstractAsyncContextManager[None]:
        """Wait for the dataset's turn, and keep it until the block ends."""
        ...


class FileGate:
    """An exclusive ``flock`` per dataset under ``<data_dir>/locks``."""

    def __init__(self, directory: Path, poll_seconds: float = 0.05) -> None:
        self._directory = directory
        self._poll = poll_seconds
        self._local: dict[str, asyncio.Lock] = {}  # flock is per open file: also exclude this process

    @asynccontextmanager
    async def hold(self, dataset: str) -> AsyncIterator[None]:
        local = self._local.setdefault(dataset, asyncio.Lock())
        async with local, self._flock(dataset, fcntl.LOCK_EX, None):
            yield

    @asynccontextmanager
    async def hold_shared(self, dataset: str, timeout: float) -> AsyncIterator[None]:
        """Wait (at most ``timeout`` seconds) until no writer holds the dataset, and keep
        writers out until the block ends; other readers may hold it too."""
        async with self._flock(dataset, fcntl.LOCK_SH, timeout):
            yield

    @asynccontextmanager
    async def _flock(self, dataset: str, mode: int, timeout: float | None) -> AsyncIterator[None]:
        self._directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._directory / f"{dataset}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise StoreBusy(dataset, timeout or 0.0) from None
                    await asyncio.sleep(self._poll)
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class Gates:
    """Several gates held together, in order (e.g. a Redis lease, then the local file lock)."""

    def __init__(self, gates: Sequence[WriteGate]) -> None:
        self._gates = list(gates)

    @asynccontextmanager
    async def hold(self, dataset: str) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for gate in self._gates:
                await stack.enter_async_context(gate.hold(dataset))
            yield
