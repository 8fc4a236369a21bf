"""Deleting a dataset on the cognee adapter leaves nothing of it on disk.

The store contract checks what the port shows; this checks what it cannot: the dataset's
Ladybug file, its LanceDB directory and its rows in cognee's SQLite database are all gone,
so the data directory is as it was before the dataset was made.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cognition.runtime import Runtime
from cognition.store.cognee.env import cognee_root
from tests.helpers import new_dataset_name
from tests.integration.test_store_contract import _book, _groups


def _databases(runtime: Runtime) -> Path:
    return cognee_root(runtime.settings) / "system" / "databases"


def _files(runtime: Runtime) -> set[str]:
    """Every file under cognee's databases but its own SQLite database."""
    root = _databases(runtime)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "cognee_db"}


def _rows(runtime: Runtime) -> dict[str, int]:
    """Rows per table of cognee's SQLite database."""
    with sqlite3.connect(_databases(runtime) / "cognee_db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: int(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


async def test_a_deleted_dataset_leaves_no_file_and_no_row(runtime: Runtime) -> None:
    store, name, kept = runtime.store, new_dataset_name("dropped"), new_dataset_name("kept")
    # Another dataset first: cognee creates its global permission rows with the first one.
    await store.ensure_dataset(kept)
    async with runtime.gate.hold(kept):
        await store.write(kept, _groups(_book(kept, "kept", ["A chunk to keep."], [["keep"]], 0)))
    files, rows = _files(runtime), _rows(runtime)

    await store.ensure_dataset(name)
    async with runtime.gate.hold(name):
        await store.write(name, _groups(_book(name, "gone", ["A chunk to drop."], [["drop"]], 0)))
        made = _files(runtime) - files
        assert any(f.endswith(".lbug") for f in made) and any(".lance.db/" in f for f in made)
        await store.delete_dataset(name)

    assert _files(runtime) == files
    assert _rows(runtime) == rows
    assert [s.chunk.text for s in await store.search_chunks(kept, [1.0] + [0.0] * 383, 1)] == [
        "A chunk to keep."
    ]
