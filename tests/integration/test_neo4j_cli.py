"""The real ``cognition`` command on the Neo4j backend, chosen by environment variables
alone: an import, a search, the dataset listed, and a delete that leaves the graph server
without the dataset's rows."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CliRunner, last_json_line, new_dataset_name
from tests.integration.neo4j_harness import Bolt


async def test_the_cli_imports_and_searches_on_neo4j_by_settings(
    neo4j_server: Bolt, run_cli: CliRunner, excerpts: dict[str, Path], tmp_path: Path
) -> None:
    dataset = new_dataset_name("neo4j-cli")
    env = {
        "COGNITION_STORE__GRAPH": "neo4j",
        "COGNITION_STORE__NEO4J_URL": neo4j_server.url,
        "COGNITION_STORE__NEO4J_USER": neo4j_server.user,
        "COGNITION_STORE__NEO4J_PASSWORD": neo4j_server.password,
    }
    data_dir = tmp_path / "data"

    imported = run_cli(
        "import", str(excerpts["bash_expansion"]), "--dataset", dataset, data_dir=data_dir, **env
    )
    found = run_cli(
        "search",
        "parameter expansion",
        "--dataset",
        dataset,
        "--mode",
        "hybrid",
        "--json",
        data_dir=data_dir,
        **env,
    )
    rows_before = await _rows_of(neo4j_server, dataset)
    deleted = run_cli("delete-dataset", dataset, "--yes", data_dir=data_dir, **env)
    listed = run_cli("datasets", data_dir=data_dir, **env)

    assert imported.returncode == 0, imported.stderr[-2000:]
    assert found.returncode == 0, found.stderr[-2000:]
    hits = last_json_line(found.stdout)["hits"]
    assert hits and all(h["dataset"] == dataset for h in hits)
    assert not (data_dir / "cognee").exists() or not any(
        (data_dir / "cognee").rglob("*.lbug")
    )  # no Ladybug file
    assert (deleted.returncode, listed.returncode) == (0, 0), deleted.stderr[-2000:] + listed.stderr[-2000:]
    assert dataset not in listed.stdout
    assert rows_before > 0 and await _rows_of(neo4j_server, dataset) == 0
    assert neo4j_server.password not in imported.stderr + found.stderr + deleted.stderr


async def _rows_of(bolt: Bolt, dataset: str) -> int:
    """Nodes and registrations of ``dataset`` on the server, counted by the driver directly."""
    from neo4j import AsyncGraphDatabase

    async with (
        AsyncGraphDatabase.driver(bolt.url, auth=(bolt.user, bolt.password)) as driver,
        driver.session(database="neo4j") as session,
    ):
        result = await session.run(
            "OPTIONAL MATCH (n:Node {dataset: $d}) WITH count(n) AS nodes "
            "OPTIONAL MATCH (r:Dataset {dataset: $d}) WITH nodes, count(r) AS marks RETURN nodes + marks",
            d=dataset,
        )
        record = await result.single()
        return int(record[0]) if record else 0
