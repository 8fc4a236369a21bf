"""The same behaviours on each backend configuration: Ladybug + LanceDB with the relational
tables (the ledger's and cognee's own) in SQLite files, and with them in Postgres.

cognee is configured once per process (its settings are read once and cached), so one test
session holds one configuration: this session's (``--relational``, SQLite by default) runs
the tests of this file in process, and the last test runs a child session with
``--relational=postgres`` over the store contract suite, this file's search, isolation and
layout tests and two audit tests, on a throwaway Postgres cluster. Small hand-made
documents and two 5-page excerpts only: the child takes about a minute.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio

from cognition.ledger.sqlite import SqliteLedger
from cognition.paths import DataPaths
from cognition.runtime import Runtime
from cognition.search import MODES, Searcher
from ingest.importer import Importer
from tests.helpers import REPO_ROOT, new_dataset_name

GIT_QUESTION = "how does git store a commit object"
BASH_QUESTION = "parameter expansion with a default value"
ON_POSTGRES = (
    "tests/integration/test_store_contract.py",
    "tests/integration/test_configurations.py",
    "tests/integration/test_audit.py::test_a_clean_import_audits_ok_on_every_check",
    "tests/integration/test_audit.py::test_planted_defects_are_each_found_exactly",
)
CHILD_SECONDS = 1200


class Two:
    def __init__(self, git: str, bash: str, sources: dict[str, str]) -> None:
        self.git, self.bash, self.sources = git, bash, sources


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two(runtime: Runtime, excerpts: dict[str, Path]) -> Two:
    """The git excerpt in one dataset, the bash excerpt in another."""
    git, bash = new_dataset_name("cfg-git"), new_dataset_name("cfg-bash")
    for name, dataset in (("git_objects", git), ("bash_expansion", bash)):
        summary = await Importer(runtime).import_paths([excerpts[name]], dataset)
        assert summary.to_json()["added"] == 1, summary.to_json()
    sources = {git: str(excerpts["git_objects"].resolve()), bash: str(excerpts["bash_expansion"].resolve())}
    return Two(git, bash, sources)


@pytest.mark.parametrize("mode", MODES)
async def test_each_search_mode_answers_from_the_datasets_it_names_only(
    two: Two, searcher: Searcher, mode: str
) -> None:
    for dataset, question in ((two.git, GIT_QUESTION), (two.bash, BASH_QUESTION)):
        hits = await searcher.search(question, [dataset], mode, 5)
        assert hits, (mode, dataset)
        assert {(hit.dataset, hit.source) for hit in hits} == {(dataset, two.sources[dataset])}

    both = await searcher.search(GIT_QUESTION, [two.git, two.bash], mode, 10)

    assert both[0].dataset == two.git
    assert all(hit.source == two.sources[hit.dataset] for hit in both)


async def test_the_relational_tables_are_where_the_session_configured_them(
    two: Two, runtime: Runtime, request: pytest.FixtureRequest
) -> None:
    paths = DataPaths.of(runtime.settings)
    sqlite_files = {
        path.name for path in paths.root.rglob("*") if path.name in ("ledger.sqlite3", "cognee_db")
    }
    assert {two.git, two.bash} <= set(await runtime.store.list_datasets())
    if request.config.getoption("relational") == "sqlite":
        assert isinstance(runtime.ledger, SqliteLedger)
        assert sqlite_files == {"ledger.sqlite3", "cognee_db"}
        return
    assert sqlite_files == set(), "a SQLite file was written although the tables are on Postgres"
    assert runtime.settings.ledger.url is not None
    cognee = re.sub(r"/(\w+)$", r"/\1_cognee", runtime.settings.ledger.url.get_secret_value())
    with psycopg.connect(cognee) as db:
        names = {row[0] for row in db.execute("SELECT name FROM datasets")}
    assert {two.git, two.bash} <= names


def test_the_contract_search_audits_and_isolation_hold_with_the_tables_on_postgres(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if request.config.getoption("relational") == "postgres":
        pytest.skip("this session is the Postgres configuration already")
    # Not this session's settings, nor the temporary directory cognee set for it (in its data dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITION_") and k != "TMPDIR"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--relational=postgres"]
    # The Ladybug store only: the Neo4j store's parameter holds no cognee tables to move
    command += ["--basetemp", str(tmp_path / "child"), "-k", "not neo4j", *ON_POSTGRES]
    began = time.monotonic()

    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CHILD_SECONDS, check=False
    )

    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    print(f"Ladybug + Postgres: {summary} ({time.monotonic() - began:.0f} s with the child's start)")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, summary
