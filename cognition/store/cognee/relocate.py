"""A data directory that was moved or copied keeps working on its own files.

cognee records each dataset's LanceDB directory as an absolute path (``dataset_database.
vector_database_url``, made from the system root when the dataset was created). A data
directory restored from a backup under another path, or copied to make a second
environment, would then read and write the vectors of the old path: none at all once the
old path is gone (every chunk without a vector), or another environment's (writes land in
the original). At start, every local LanceDB path whose directory this data directory holds
is pointed at it; an object-store URI (``s3://…``) is left as configured.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("cognition.store")


async def relocate_vector_paths(system_root: str) -> int:
    """Point every dataset's local LanceDB path at ``system_root``; how many were moved."""
    from cognee.infrastructure.databases.relational import get_relational_engine
    from cognee.modules.users.models import DatasetDatabase
    from sqlalchemy import select

    moved = 0
    async with get_relational_engine().get_async_session() as session:
        for row in (await session.execute(select(DatasetDatabase))).scalars():
            url = row.vector_database_url or ""
            if row.vector_database_provider != "lancedb" or not os.path.isabs(url) or row.owner_id is None:
                continue
            expected = os.path.join(system_root, "databases", str(row.owner_id), os.path.basename(url))
            # Only to where this data directory holds the vectors: a layout this code does not
            # know (another cognee version) is left alone rather than pointed at nothing.
            if url != expected and os.path.exists(expected):
                log.warning("dataset %s: its vectors are at %s, not %s", row.dataset_id, expected, url)
                row.vector_database_url = expected
                moved += 1
        if moved:
            await session.commit()
    return moved
