"""A Postgres that ends the ledger's idle sessions (a restart, a failover, an operator's
``pg_terminate_backend``) costs no call: the next calls take fresh connections instead of
failing once on each connection the process kept."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
from pydantic import SecretStr

from bench.postgres_server import PostgresServer
from cognition.ledger.postgres import PostgresLedger
from cognition.postgres_db import pool_for

SESSIONS = 3


def cognition_sessions(admin: psycopg.Connection[tuple[int]]) -> int:
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'cognition'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_sessions_the_server_ended_while_idle_cost_no_call(postgres_server: PostgresServer) -> None:
    url = SecretStr(postgres_server.create_database(f"pool_{uuid.uuid4().hex[:10]}"))
    ledger = PostgresLedger(url)
    together = threading.Barrier(SESSIONS)

    def hold(n: int) -> None:  # three threads at once: three connections, then idle
        with pool_for(url).connect() as db:
            db.execute("SELECT ?", (n,))
            together.wait(timeout=30)

    with ThreadPoolExecutor(SESSIONS) as threads:
        list(threads.map(hold, range(SESSIONS)))
    with psycopg.connect(url.get_secret_value(), autocommit=True) as admin:
        idle = cognition_sessions(admin)
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'cognition'"
        )
        for _ in range(200):  # bounded: until the server has ended them
            if cognition_sessions(admin) == 0:
                break
            time.sleep(0.05)
        left = cognition_sessions(admin)

    for n in range(SESSIONS + 1):  # more calls than there were dead connections
        ledger.register_dataset(f"after-{n}")

    assert idle == SESSIONS and left == 0
    assert sorted(ledger.datasets()) == [f"after-{n}" for n in range(SESSIONS + 1)]
