"""``cognition mcp`` over stdio, spawned by the official MCP client as an agent spawns it:
a data directory of its own, imported by ``cognition import`` in a subprocess; the scope is
the datasets named; stdout carries only MCP messages (the client would fail on anything
else); with no scope it refuses in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.helpers import REPO_ROOT, CliRunner, subprocess_env


@pytest.fixture(scope="module")
def stdio_data(
    run_cli: CliRunner, excerpts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    data_dir = tmp_path_factory.mktemp("mcp-stdio")
    done = run_cli("import", str(excerpts["git_objects"]), "-d", "books", data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    done = run_cli("import", str(excerpts["bash_expansion"]), "-d", "other", data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    return data_dir


async def test_an_agent_spawns_it_and_searches_only_the_datasets_named(stdio_data: Path) -> None:
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "cli.main", "mcp", "--dataset", "books"],
        env=subprocess_env(stdio_data),
        cwd=REPO_ROOT,
    )
    async with Client(server, mode="legacy", read_timeout_seconds=300) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert "search" in names and "delete_document" not in names
        listed = await client.call_tool("list_datasets", {})
        datasets = json.loads(listed.content[0].text)["datasets"]  # type: ignore[union-attr]
        assert [d["name"] for d in datasets] == ["books"]
        found = await client.call_tool("search", {"query": "git tree object"})
        assert not found.is_error
        hits = json.loads(found.content[0].text)["hits"]  # type: ignore[union-attr]
        assert hits and {h["dataset"] for h in hits} == {"books"}
        assert hits[0]["title"] == "Git objects" and hits[0]["pages"]
        other = await client.call_tool("search", {"query": "x", "datasets": ["other"]})
        assert other.is_error and '"DatasetNotFound"' in other.content[0].text  # type: ignore[union-attr]


def test_without_a_scope_it_refuses_in_one_line(run_cli: CliRunner, stdio_data: Path) -> None:
    done = run_cli("mcp", data_dir=stdio_data)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().startswith("error: cognition mcp needs to know what the agent may read")
    done = run_cli("mcp", "--dataset", "bokos", data_dir=stdio_data)
    assert done.returncode == 2 and done.stdout == ""
    assert "dataset not found: 'bokos'" in done.stderr and "books" in done.stderr
