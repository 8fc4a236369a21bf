"""A background task of a server process (the job runner, the periodic audit): stopped by
cancelling it and waiting until it has ended."""

from __future__ import annotations

import asyncio
import contextlib


async def cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
