"""The checks behind ``/readyz``: one named check per configured backend, each bounded by a
timeout, each answering ok or its error in one line without secrets.

The backends: the ledger's database (an UPDATE of no row: it takes the write lock and
changes nothing; SQLite or Postgres), Redis when a queue is configured, and what the store
names (``Probed``: the cognee store's graph and vector folders and cognee's own tables), or
the store as a whole. Every one of them is required today; a check can be marked optional
(it shows, and does not make the server unready).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pydantic import SecretStr

from api.models import BackendCheck
from api.services import Services
from cognition.postgres_db import clean
from cognition.store.port import Probe, Probed

CHECK_SECONDS = 5.0  # a backend that does not answer in this long is reported down
# Loading the store (importing cognee, its setup) on the first /readyz of a server that has
# not loaded it yet takes seconds: it is not counted in a check's time, but bounded too.
START_SECONDS = 120.0


@dataclass(frozen=True)
class Check:
    name: str
    probe: Probe
    required: bool = True


def backend_checks(services: Services) -> list[Check]:
    """Every backend this server is configured with."""
    checks = [Check("ledger", _ledger(services))]
    if services.redis is not None:
        checks.append(Check("redis", _redis(services)))
    store = services.runtime.store
    if isinstance(store, Probed):
        checks.extend(Check(name, probe) for name, probe in store.probes().items())
    else:
        checks.append(Check("store", _store(services)))
    return checks


async def run_checks(services: Services, checks: list[Check]) -> list[BackendCheck]:
    """All checks at once, each within ``CHECK_SECONDS``, once the store is loaded."""
    started = asyncio.create_task(_start(services))
    return list(await asyncio.gather(*(_run(services, check, started) for check in checks)))


async def _start(services: Services) -> None:
    """Load the store (a no-op once loaded); a start cut short by the timeout goes on."""
    try:
        await asyncio.wait_for(asyncio.shield(services.runtime.store.start()), START_SECONDS)
    except TimeoutError:
        raise StoreNotLoaded(f"the store did not load within {START_SECONDS:g} s") from None


class StoreNotLoaded(Exception):
    """The store was still loading when ``/readyz`` gave up waiting."""


async def _run(services: Services, check: Check, started: asyncio.Task[None]) -> BackendCheck:
    error = None
    began = time.monotonic()
    try:
        if check.name not in ("ledger", "redis"):  # the store's own checks wait for its start
            await asyncio.shield(started)
            began = time.monotonic()
        await asyncio.wait_for(check.probe(), CHECK_SECONDS)
    except TimeoutError:
        error = f"no answer within {CHECK_SECONDS:g} s"
    except Exception as exc:
        error = f"{type(exc).__name__}: {clean(exc, *_secrets(services))}"
    seconds = round(time.monotonic() - began, 3)
    return BackendCheck(
        name=check.name, ok=error is None, required=check.required, error=error, seconds=seconds
    )


def _secrets(services: Services) -> list[SecretStr | None]:
    """The URLs whose passwords an error might quote, and the graph server's password."""
    from cognition.store.cognee.relational import cognee_url

    settings = services.settings
    redis = settings.queue.redis_url
    return [
        settings.ledger.url,
        cognee_url(settings),
        None if redis is None else SecretStr(redis),
        settings.store.neo4j_password,
    ]


def _ledger(services: Services) -> Probe:
    async def probe() -> None:
        await asyncio.to_thread(services.runtime.ledger.update_job, "__readyz__", state="queued")

    return probe


def _redis(services: Services) -> Probe:
    async def probe() -> None:
        await services.redis.ping()

    return probe


def _store(services: Services) -> Probe:
    async def probe() -> None:
        await services.runtime.store.list_datasets()

    return probe
