"""Paths to the shared bench data and small helpers used by several test modules."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader, PdfWriter

from cognition.store.port import DatasetStats

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = (Path(__file__).parents[1] / ".." / "shared" / "bench").resolve()
BOOKS = BENCH / "pdfs" / "books"
BAD = BENCH / "pdfs" / "bad"
GIT_INTERNALS = BOOKS / "git-internals.pdf"
GIT_INTERNALS_PAGES = 121
CLI_TIMEOUT = 600

CliRunner = Callable[..., "subprocess.CompletedProcess[str]"]  # run_cli(*args, data_dir=..., home=...)
StatsReader = Callable[..., dict[str, dict[str, int]]]  # stats_in_subprocess(data_dir, *datasets)


@dataclass(frozen=True)
class ImportedBook:
    """A book imported once for the session; tests only read it."""

    dataset: str
    path: Path
    summary: dict[str, Any]
    stats: DatasetStats


def write_excerpt(source: Path, pages: Sequence[int], dest: Path, title: str) -> Path:
    """A real, smaller PDF: the given pages (1-based) of a bench book, with its own title."""
    reader = PdfReader(source)
    if reader.is_encrypted:
        reader.decrypt("")
    writer = PdfWriter()
    for number in pages:
        writer.add_page(reader.pages[number - 1])
    writer.add_metadata({"/Title": title})
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as handle:
        writer.write(handle)
    return dest


def new_dataset_name(hint: str) -> str:
    """A valid dataset name no other test uses."""
    stem = re.sub(r"[^a-z0-9]+", "-", hint.lower()).strip("-")[:40] or "t"
    return f"{stem}-{uuid.uuid4().hex[:8]}"


def subprocess_env(data_dir: Path, home: Path | None = None, **extra: str) -> dict[str, str]:
    """A child's environment: this process's, with no COGNITION_ setting but the data dir
    (and the periodic audit off)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNITION_")}
    env["COGNITION_DATA_DIR"] = str(data_dir)
    env["COGNITION_AUDIT__EVERY_SECONDS"] = "0"  # no periodic audit unless a test asks for one
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    """The real ``cognition`` command, run by this interpreter."""
    return [sys.executable, "-m", "cli.main", *args]


def last_json_line(stdout: str) -> dict[str, Any]:
    """The JSON document a ``--json`` command printed (its last line)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the command printed nothing on stdout"
    value = json.loads(lines[-1])
    assert isinstance(value, dict)
    return value


def sha256_of(path: Path) -> str:
    """The sha256 of a file, computed here (not by the code under test)."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class ApiHarness:
    """The app, a client on it, ``key(*grants)`` → headers of a new key, an admin's headers."""

    app: Any
    client: Any  # httpx.AsyncClient
    key: Callable[..., dict[str, str]]
    admin: dict[str, str]

    async def wait_for_job(self, job_id: str, seconds: float = 300) -> dict[str, Any]:
        """Poll a job until it is done or failed (bounded)."""
        import asyncio

        deadline = time.monotonic() + seconds
        while True:
            answer = await self.client.get(f"/v1/jobs/{job_id}", headers=self.admin)
            assert answer.status_code == 200, answer.text
            job: dict[str, Any] = answer.json()
            if job["state"] in ("done", "failed") or time.monotonic() > deadline:
                return job
            await asyncio.sleep(0.2)


@dataclass
class ApiDataset:
    name: str
    jobs: dict[str, dict[str, Any]]  # excerpt name -> its finished job


def chromium_env() -> dict[str, str]:
    """The environment for a Chromium a test starts itself, with a short TMPDIR: cognee
    points TMPDIR into the data directory, and Chromium's singleton socket under a long one
    passes a Unix socket's 107 bytes (the crawler does the same: ``ingest/web/browser.py``)."""
    return {**os.environ, "TMPDIR": "/tmp"}
