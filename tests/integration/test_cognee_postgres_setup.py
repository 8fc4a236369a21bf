"""Processes on several hosts starting at once on a fresh Postgres: each has its own data
directory (its own file locks), so only the advisory lock on cognee's database keeps them
from both creating cognee's tables and its default user. Both start, one user exists, and
each one's dataset is there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from bench.postgres_server import PostgresServer
from tests.helpers import CLI_TIMEOUT, REPO_ROOT, subprocess_env

_START = """
import asyncio, sys
from cognition.runtime import Runtime
from cognition.settings import Settings

async def main():
    runtime = Runtime.build(Settings())
    await runtime.store.ensure_dataset(sys.argv[1])
    print("DATASETS", sorted(await runtime.store.list_datasets()))
    await runtime.close()

asyncio.run(main())
"""


def test_two_hosts_starting_at_once_on_a_fresh_database_set_up_cognee_once(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("two_hosts")
    hosts = []
    for name in ("host-a", "host-b"):
        env = subprocess_env(tmp_path / name, COGNITION_LEDGER__URL=url)
        hosts.append(
            subprocess.Popen(
                [sys.executable, "-c", _START, f"books-{name}"],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    done = [host.communicate(timeout=CLI_TIMEOUT) for host in hosts]

    assert [host.returncode for host in hosts] == [0, 0], [err[-2000:] for _, err in done]
    with psycopg.connect(postgres_server.url("two_hosts_cognee")) as db:
        users = db.execute("SELECT count(*) FROM users").fetchone()
        names = {row[0] for row in db.execute("SELECT name FROM datasets")}
    assert users == (1,)
    assert names == {"books-host-a", "books-host-b"}
