"""Dropping a whole dataset from cognee: its graph file, its vector directory, its rows.

cognee's own ``delete_dataset`` (what ``cognee.datasets.empty_dataset`` ends with) evicts the
cached engines, removes the Ladybug file with its WAL and lock file and the LanceDB
directory, then the dataset's ``data`` rows and the ``datasets`` row, whose ACLs and
``dataset_database`` row cascade. It leaves the dataset's ``pipeline_runs`` and its rows in
cognee's relational graph ledger (``nodes`` / ``edges``; this adapter writes none, cognee's
own pipelines would). A dataset's id derives from its name and owner, so a dataset made again
under the same name would inherit them: they go first, and the ``datasets`` row last, so a
drop cut short is found and finished by the next call.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID


async def drop_dataset(dataset: Any) -> None:
    """Remove cognee's dataset ``dataset`` (its row, as resolved) and all it holds."""
    from cognee.modules.data.methods import delete_dataset

    await _delete_rows(dataset.id)
    await delete_dataset(dataset)


async def _delete_rows(dataset_id: UUID) -> None:
    """The rows cognee's ``delete_dataset`` leaves behind: pipeline runs and ledger rows."""
    from cognee.infrastructure.databases.relational import get_relational_engine
    from cognee.modules.graph.models import Edge, Node
    from cognee.modules.pipelines.models import PipelineRun
    from sqlalchemy import delete

    engine = get_relational_engine()
    async with engine.get_async_session() as session:
        for model in (PipelineRun, Node, Edge):
            await session.execute(delete(model).where(model.dataset_id == dataset_id))
        await session.commit()
