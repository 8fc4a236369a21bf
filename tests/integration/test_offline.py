"""The embedded mode is offline and self-contained: an import and searches open no
non-loopback socket and write nothing outside the data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cognition.settings import Settings
from cognition.store.cognee.env import prepare_cognee
from cognition.store.port import Store
from tests.helpers import CLI_TIMEOUT, REPO_ROOT, subprocess_env

pytestmark = pytest.mark.slow

# Installs an audit hook before anything else is imported, then imports a PDF and searches
# it in every mode. Prints what it contacted; exits 3 if any address was not loopback.
SCRIPT = r"""
import sys

contacted = []


def audit(event, args):
    if event == "socket.connect":
        contacted.append(("connect", args[1]))
    elif event == "socket.sendto":
        contacted.append(("sendto", args[1]))
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        contacted.append(("resolve", (args[0],)))


sys.addaudithook(audit)

import socket

socket.getaddrinfo("127.0.0.1", 9)  # proves the hook records: must show up as loopback

import asyncio
import ipaddress
import json
from pathlib import Path

from cognition.runtime import Runtime
from cognition.settings import Settings
from ingest.importer import Importer


def loopback(address):
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host is None or host in ("localhost", "", b"localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


async def main():
    runtime = Runtime.build(Settings())
    summary = await Importer(runtime).import_paths([Path(sys.argv[1])], "offline")
    hits = {
        mode: len(await runtime.searcher.search("how does git store a blob", ["offline"], mode, 3))
        for mode in ("vector", "graph", "hybrid")
    }
    await runtime.close()
    return summary.to_json(), hits


summary, hits = asyncio.run(main())
offending = [[kind, repr(address)] for kind, address in contacted if not loopback(address)]
print("RESULT " + json.dumps({"summary": summary, "hits": hits, "contacted": len(contacted),
                               "offending": offending}))
sys.exit(3 if offending else 0)
"""


def _cognee_package_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("cognee")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink())


@dataclass(frozen=True)
class OfflineRun:
    process: subprocess.CompletedProcess[str]
    result: dict[str, Any]
    home: Path
    data_dir: Path
    package: Path
    package_before: list[str]


@pytest.fixture(scope="module")
def offline_run(excerpts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> OfflineRun:
    """The script above, in a process with its own data directory and an empty HOME."""
    root = tmp_path_factory.mktemp("offline")
    script, home, data_dir = root / "run.py", root / "home", root / "data"
    script.write_text(SCRIPT)
    home.mkdir()
    package = _cognee_package_dir()
    package_before = sorted(os.listdir(package))
    done = subprocess.run(
        [sys.executable, str(script), str(excerpts["git_objects"])],
        cwd=REPO_ROOT,
        env=subprocess_env(data_dir, home=home),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    marked = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert marked, done.stdout[-2000:] + done.stderr[-3000:]
    result = json.loads(marked[-1].removeprefix("RESULT "))
    return OfflineRun(done, result, home, data_dir, package, package_before)


def test_import_and_search_contact_no_address_but_loopback(offline_run: OfflineRun) -> None:
    assert offline_run.result["contacted"] >= 1  # the hook saw at least its own probe
    assert offline_run.result["offending"] == []
    assert offline_run.process.returncode == 0, offline_run.process.stderr[-3000:]


def test_the_offline_run_did_the_work(offline_run: OfflineRun) -> None:
    summary = offline_run.result["summary"]

    assert (summary["added"], summary["failed"]) == (1, [])
    assert offline_run.result["hits"] == {"vector": 3, "graph": 3, "hybrid": 3}


def test_nothing_is_written_to_home(offline_run: OfflineRun) -> None:
    assert list(offline_run.home.iterdir()) == []  # no file, and no folder either (~/.lbdb)


def test_nothing_is_written_into_the_cognee_package(offline_run: OfflineRun) -> None:
    assert sorted(os.listdir(offline_run.package)) == offline_run.package_before
    assert not (offline_run.package / ".cognee_system").exists()
    assert not (offline_run.package / ".data_storage").exists()


def test_cognees_files_are_under_the_data_directory(offline_run: OfflineRun) -> None:
    files = _files_under(offline_run.data_dir)

    assert "ledger.sqlite3" in files
    assert any(f.startswith("cognee/system/databases/") for f in files), files[:20]
    assert any(f.endswith(".onnx") for f in files)  # the embedding model's compiled graph, cached here


async def test_a_process_keeps_to_one_data_directory(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    assert await store.dataset_exists("no-such-dataset") is False  # cognee is up for the session's directory

    prepare_cognee(settings)  # the same directory again: fine
    with pytest.raises(RuntimeError, match="one data directory per process"):
        prepare_cognee(Settings(data_dir=tmp_path / "another"))
