"""Shared fixtures: real PDFs from ``../shared/bench``, one cognee data directory for the
in-process tests, and helpers that run the real CLI in its own process.

cognee is configured once per process (``prepare_cognee`` refuses a second data directory),
so every in-process test shares the session's data directory and store and keeps to its own
dataset names. A test that needs a data directory of its own runs the CLI (or a small
script) in a subprocess with ``COGNITION_DATA_DIR``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import SecretStr
from pytest_asyncio import is_async_test

from bench.postgres_server import PostgresServer
from bench.redis_server import RedisServer
from cognition.ledger import Ledger
from cognition.runtime import Runtime
from cognition.search import Searcher
from cognition.settings import AuditSettings, LedgerSettings, Settings
from cognition.store.port import Store
from ingest.importer import Importer
from tests.helpers import (
    BENCH,
    BOOKS,
    CLI_TIMEOUT,
    GIT_INTERNALS,
    REPO_ROOT,
    ApiDataset,
    ApiHarness,
    CliRunner,
    ImportedBook,
    StatsReader,
    cli_command,
    new_dataset_name,
    subprocess_env,
    write_excerpt,
)

_STATS_SCRIPT = """
import asyncio, dataclasses, json, sys
from cognition.runtime import Runtime
from cognition.settings import Settings

async def main():
    runtime = Runtime.build(Settings())
    found = {name: dataclasses.asdict(await runtime.store.stats(name)) for name in sys.argv[1:]}
    await runtime.close()
    print("STATS " + json.dumps(found))

asyncio.run(main())
"""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--relational",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="where the session's runtime keeps the ledger and cognee's own tables: SQLite files in its "
        "data directory (the default), or databases in a throwaway Postgres cluster (ledger.url; "
        "cognee's tables beside it). cognee is configured once per process, so a configuration is "
        "a whole session: tests/integration/test_configurations.py runs a child session on Postgres.",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every async test runs on the session's event loop: cognee's engines are bound to the
    loop that created them, and the store is shared by the whole session."""
    session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item):
            item.add_marker(session_loop, append=False)


# --------------------------------------------------------------------------- data files


@pytest.fixture(scope="session")
def bench() -> Path:
    assert (BENCH / "pdfs" / "books").is_dir(), f"bench data missing: {BENCH} (shared/ sits beside the repo)"
    return BENCH


@pytest.fixture(scope="session")
def excerpts(bench: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small real PDFs cut from the bench books, each about one topic."""
    folder = tmp_path_factory.mktemp("excerpts")
    return {
        # Git Internals pp. 13-17: the object database, blobs and trees.
        "git_objects": write_excerpt(GIT_INTERNALS, range(13, 18), folder / "git-objects.pdf", "Git objects"),
        # Bash Reference Manual pp. 40-44: shell parameter expansion.
        "bash_expansion": write_excerpt(
            BOOKS / "bashref.pdf", range(40, 45), folder / "bash-expansion.pdf", "Bash parameter expansion"
        ),
    }


# --------------------------------------------------------------------------- in-process store


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The one data directory of this test process. No periodic audit: a test that wants
    one asks for it (an audit the session's server ran by itself would change what other
    tests see). With ``--relational=postgres``, the ledger (and so cognee's tables) live in
    the session's Postgres cluster."""
    url = None
    if request.config.getoption("relational") == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = SecretStr(server.create_database("session_ledger"))
    return Settings(
        data_dir=tmp_path_factory.mktemp("cognition-data"),
        audit=AuditSettings(every_seconds=0),
        ledger=LedgerSettings(url=url),
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The test process's one runtime (as every entry point builds one)."""
    built = Runtime.build(settings)
    yield built
    await built.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def book(runtime: Runtime, bench: Path) -> str:
    """A whole real book (Git Internals, 121 pages) imported once per session into dataset
    ``book-git-internals``; tests only read it."""
    dataset = "book-git-internals"
    summary = await Importer(runtime).import_paths([bench / "pdfs" / "books" / "git-internals.pdf"], dataset)
    assert summary.to_json()["added"] == 1, summary.to_json()
    return dataset


@pytest.fixture(scope="session")
def ledger(runtime: Runtime) -> Ledger:
    return runtime.ledger


@pytest.fixture(scope="session")
def store(runtime: Runtime) -> Store:
    return runtime.store


@pytest.fixture
def importer(runtime: Runtime) -> Importer:
    """An importer on the session's runtime."""
    return Importer(runtime)


@pytest.fixture(scope="session")
def searcher(runtime: Runtime) -> Searcher:
    return runtime.searcher


@pytest.fixture
def dataset_name(request: pytest.FixtureRequest) -> str:
    """A dataset of this test's own."""
    return new_dataset_name(request.node.name)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def git_internals(runtime: Runtime, store: Store, bench: Path) -> ImportedBook:
    """Git Internals (121 pages) imported once into dataset ``git-internals``; tests only read it."""
    dataset = "git-internals"
    summary = await Importer(runtime).import_paths([GIT_INTERNALS], dataset)
    return ImportedBook(dataset, GIT_INTERNALS, summary.to_json(), await store.stats(dataset))


# --------------------------------------------------------------------------- subprocesses


@pytest.fixture(scope="session")
def run_cli() -> CliRunner:
    """Run ``cognition ARGS...`` in a child process against ``data_dir``; keyword arguments
    are further environment variables (``COGNITION_QUEUE__REDIS_URL=...``)."""

    def run(
        *args: str, data_dir: Path, home: Path | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cli_command(*args),
            cwd=REPO_ROOT,
            env=subprocess_env(data_dir, home, **env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def stats_in_subprocess() -> StatsReader:
    """``store.stats`` of datasets in another data directory, read by a process of its own
    (``-c`` from the repository root: this checkout's code, as ``python -m`` runs the CLI)."""

    def stats(data_dir: Path, *datasets: str) -> dict[str, dict[str, int]]:
        done = subprocess.run(
            [sys.executable, "-c", _STATS_SCRIPT, *datasets],
            cwd=REPO_ROOT,
            env=subprocess_env(data_dir),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        marked = [line for line in done.stdout.splitlines() if line.startswith("STATS ")]
        assert marked, done.stdout[-3000:]
        found: dict[str, dict[str, int]] = json.loads(marked[-1].removeprefix("STATS "))
        return found

    return stats


# --------------------------------------------------------------------------- redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (tests use queue names of their own)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway Postgres cluster for the session (tests make databases of their own)."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------- the API


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api(runtime: Runtime, settings: Settings) -> AsyncIterator[ApiHarness]:
    """The real app over the session's runtime (its lifespan entered once: no Redis, so it
    runs submitted imports itself), an httpx client on it, and a way to make keys."""
    import httpx

    from api import create_app
    from cognition.keys import open_keys, parse_grant

    app = create_app(settings, runtime=runtime)
    keys = open_keys(settings)

    def key(*grants: str) -> dict[str, str]:
        _, secret = keys.create("test", [parse_grant(g) for g in grants])
        return {"Authorization": f"Bearer {secret}"}

    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:  # the lifespan's task groups are entered and left in one task
        async with app.router.lifespan_context(app):
            started.set()
            await stop.wait()

    lifespan = asyncio.create_task(serve())
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait([lifespan, waiting], return_when=asyncio.FIRST_COMPLETED)
    if lifespan.done():
        waiting.cancel()
        lifespan.result()  # the app failed to start: its error, here
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=120) as client:
        yield ApiHarness(app, client, key, key("admin:*"))
    stop.set()
    await lifespan


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api_library(api: ApiHarness, excerpts: dict[str, Path]) -> ApiDataset:
    """Two excerpts uploaded over HTTP into dataset ``api-library``, imported by the
    server's own job runner; tests only read it."""
    dataset = "api-library"
    created = await api.client.post("/v1/datasets", json={"name": dataset}, headers=api.admin)
    assert created.status_code == 201, created.text
    jobs = {}
    for name in ("git_objects", "bash_expansion"):
        path = excerpts[name]
        with path.open("rb") as handle:
            answer = await api.client.post(
                f"/v1/datasets/{dataset}/documents",
                files={"file": (path.name, handle, "application/pdf")},
                headers=api.admin,
            )
        assert answer.status_code == 202, answer.text
        jobs[name] = answer.json()
    for name, submitted in jobs.items():
        jobs[name] = await api.wait_for_job(submitted["job_id"])
        assert jobs[name]["state"] == "done", jobs[name]
    return ApiDataset(dataset, jobs)
