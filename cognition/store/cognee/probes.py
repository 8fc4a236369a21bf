"""Cheap checks of the backends the cognee store runs on, for ``/readyz``.

Ladybug and LanceDB are embedded: their files live under cognee's ``system/databases``
(a local disk, or a volume every worker mounts). Their check writes and removes a small file
there, which fails when the volume is gone, read-only or full. cognee's own tables (SQLite
or Postgres) answer a ``SELECT 1`` through cognee's engine.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path


async def writable(folder: Path) -> None:
    """Create, write and remove a file in ``folder`` (in a thread: a network volume may hang)."""
    await asyncio.to_thread(_touch, folder)


def _touch(folder: Path) -> None:
    folder.mkdir(exist_ok=True)  # made by the first dataset; its parent, at start
    probe = folder / f".readyz-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    probe.write_bytes(b"ok")
    probe.unlink()


async def relational() -> None:
    """``SELECT 1`` on cognee's relational database."""
    from cognee.infrastructure.databases.relational import get_relational_engine
    from sqlalchemy import text

    async with get_relational_engine().get_async_session() as session:
        await session.execute(text("SELECT 1"))
