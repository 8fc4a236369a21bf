"""Write gates: one writer per dataset at a time, across processes.

cognee's own per-dataset lock lives in one process. Two processes writing one dataset make
duplicate keys and "database is locked" errors, and Ladybug refuses a second process
outright ("Could not set lock on file"). Every store mutation of the importer therefore runs
inside ``gate.hold(dataset)``; reading, chunking, extraction and embedding run outside it.

``FileGate`` is the embedded configuration's gate: an ``flock`` on a file per dataset in the
data directory. The kernel releases it when its holder dies, even by kill -9, so it needs
no lease. Workers on several hosts add a Redis lease lock in front of it (``workers/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Protocol


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
        async with local:
            self._directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._directory / f"{dataset}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
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
