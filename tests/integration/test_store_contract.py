"""The store contract: what every ``Store`` adapter must do, run against each backend.

Hand-made documents (two books sharing an entity, in one dataset, and a third dataset) are
written through the port with vectors of their own, then read back through the port only.
Backends: cognee on Ladybug + LanceDB, and the Neo4j adapter (on ArcadeDB's Bolt plugin,
or on a real Neo4j when ``COGNITION_TEST_NEO4J_URL`` is set), held to the same behaviours.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
import pytest_asyncio

from cognition import graphquery
from cognition.datasets import chunk_id, entity_id
from cognition.errors import DatasetNotFoundError
from cognition.runtime import Runtime
from cognition.store.port import ChunkNode, DocumentBatch, DocumentNode, EntityNode, SectionNode, Store
from tests.helpers import new_dataset_name
from tests.integration.neo4j_harness import BACKEND as NEO4J

DIMENSIONS = 384


@pytest.fixture(params=["cognee-ladybug-lancedb", NEO4J])
def backend_runtime(request: pytest.FixtureRequest) -> Runtime:
    """The runtime of one backend configuration: the session's (Ladybug), or one on Neo4j
    (ArcadeDB's Bolt plugin, or a real Neo4j when ``COGNITION_TEST_NEO4J_URL`` is set)."""
    name = "runtime" if request.param == "cognee-ladybug-lancedb" else "neo4j_runtime"
    found: Runtime = request.getfixturevalue(name)
    return found


@pytest.fixture
def backend(backend_runtime: Runtime) -> Store:
    """The store under test (one per backend configuration)."""
    return backend_runtime.store


def _vector(axis: int) -> np.ndarray:
    """A unit vector along one axis: its nearest stored chunk is known exactly."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[axis] = 1.0
    return vector


def _book(
    dataset: str, name: str, texts: list[str], entities: list[list[str]], first_axis: int
) -> DocumentBatch:
    doc_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dataset}/{name}"))
    document = DocumentNode(
        doc_id, f"The {name} book", f"/books/{name}.pdf", f"hash-{name}", "pdf", len(texts)
    )
    section = SectionNode(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}/s")), "Chapter 1", 0, None)
    batch = DocumentBatch(
        dataset=dataset, document=document, sections=[section], pages=list(range(1, len(texts) + 1))
    )
    for index, (text, names) in enumerate(zip(texts, entities, strict=True)):
        cid = chunk_id(doc_id, index)
        batch.chunks.append(
            ChunkNode(cid, doc_id, index, text, index + 1, index + 1, section.id, ("Chapter 1",))
        )
        for key in names:
            batch.entities.append(EntityNode(entity_id(dataset, key), key, key.title(), "term"))
            batch.mentions.append((cid, entity_id(dataset, key)))
        if len(names) > 1:
            batch.relations.append((entity_id(dataset, names[0]), entity_id(dataset, names[1]), "uses", 2.0))
    batch.vectors = np.stack([_vector(first_axis + i) for i in range(len(texts))])
    return batch


async def _groups(*batches: DocumentBatch) -> AsyncIterator[list[DocumentBatch]]:
    for batch in batches:
        yield [batch]


class Library:
    def __init__(
        self, dataset: str, other: str, git: DocumentBatch, bash: DocumentBatch, elsewhere: DocumentBatch
    ):
        self.dataset, self.other, self.git, self.bash, self.elsewhere = dataset, other, git, bash, elsewhere


@pytest_asyncio.fixture(loop_scope="session")
async def library(backend: Store, backend_runtime: Runtime) -> Library:
    dataset, other = new_dataset_name("contract"), new_dataset_name("contract-other")
    git = _book(
        dataset,
        "git",
        ["Git stores blobs in the object database.", "A tree lists blobs and trees."],
        [["git", "blob"], ["tree", "blob"]],
        first_axis=0,
    )
    bash = _book(
        dataset,
        "bash",
        ["Bash expands parameters.", "Git hooks are shell scripts."],
        [["bash"], ["git", "hook"]],
        2,
    )
    elsewhere = _book(other, "secret", ["A text of another dataset about git blobs."], [["git", "blob"]], 0)
    for name, batches in ((dataset, (git, bash)), (other, (elsewhere,))):
        await backend.ensure_dataset(name)
        async with backend_runtime.gate.hold(name):
            await backend.write(name, _groups(*batches))
    return Library(dataset, other, git, bash, elsewhere)


async def test_chunks_read_back_with_their_provenance(backend: Store, library: Library) -> None:
    wanted = [c.id for c in library.git.chunks]

    chunks = await backend.get_chunks(library.dataset, wanted)

    assert [c.id for c in chunks] == wanted
    first = chunks[0]
    assert (first.dataset, first.document_id, first.document_title, first.source) == (
        library.dataset,
        library.git.document.id,
        "The git book",
        "/books/git.pdf",
    )
    assert (first.section_path, first.page_start, first.page_end) == (("Chapter 1",), 1, 1)
    assert first.text == "Git stores blobs in the object database."


async def test_vector_search_finds_the_nearest_chunk_first(backend: Store, library: Library) -> None:
    found = await backend.search_chunks(library.dataset, _vector(3).tolist(), 4)

    assert found[0].chunk.id == library.bash.chunks[1].id
    assert found[0].score == pytest.approx(1.0, abs=1e-5)
    assert found[0].chunk.text == "Git hooks are shell scripts."
    assert {s.chunk.dataset for s in found} == {library.dataset}
    assert len(found) == 4 and [s.score for s in found] == sorted((s.score for s in found), reverse=True)


async def test_counts_by_node_and_edge_type(backend: Store, library: Library) -> None:
    counts = await backend.counts(library.dataset)

    assert counts.nodes == {"Document": 2, "Section": 2, "Page": 4, "Chunk": 4, "Entity": 5}
    assert counts.edges["mentions"] == 7
    assert counts.edges["uses"] == 3
    assert counts.edges["has_chunk"] == 4 and counts.edges["on_page"] == 4
    assert sum(counts.vectors.values()) == 4


async def test_entities_by_key_neighbours_and_mentions(backend: Store, library: Library) -> None:
    [git] = await backend.find_entities(library.dataset, ["git"], 10)
    neighbours = await backend.neighbours(library.dataset, git.id, 10)
    mentioning = await backend.chunks_mentioning(library.dataset, git.id, 10)

    assert (git.key, git.name, git.chunks) == ("git", "Git", 2)
    assert {(n.entity.key, n.relation, n.direction, n.weight) for n in neighbours} == {
        ("blob", "uses", "out", 2.0),
        ("hook", "uses", "out", 2.0),
    }
    assert {c.id for c in mentioning} == {library.git.chunks[0].id, library.bash.chunks[1].id}
    assert await backend.find_entities(library.dataset, ["no such entity"], 10) == []


async def test_a_neighbourhood_lists_each_relation_once_and_a_path_reaches_each_far_end(
    backend: Store, library: Library, backend_runtime: Runtime
) -> None:
    """Walking on from a neighbour meets the relation that led to it again; listed twice,
    its far end was the start entity, and ``find_path`` to it found nothing (a flaky MCP
    test picked the last relation listed)."""
    [git] = await backend.find_entities(library.dataset, ["git"], 10)
    around = await graphquery.neighbourhood(backend, library.dataset, git.id, depth=2, limit=10)
    graph, _ = await backend_runtime.searcher.graph_for(library.dataset)

    keys = {git.id: "git"} | {e.target.id: e.target.key for e in around.edges}
    listed = sorted((e.depth, keys[e.source_id], e.relation, e.direction, e.target.key) for e in around.edges)
    assert listed == [
        (1, "git", "uses", "out", "blob"),
        (1, "git", "uses", "out", "hook"),
        (2, "blob", "uses", "in", "tree"),
    ]
    assert not around.truncated
    for edge in around.edges:
        found = await graphquery.paths(backend, graph, library.dataset, git.id, edge.target.id, 2, 5)
        assert found and len(found[0]) == edge.depth, edge.target.key
        assert found[0][0].source.id == git.id and found[0][-1].target.id == edge.target.id


async def test_the_graph_for_ranking_holds_every_mention_and_relation(
    backend: Store, library: Library
) -> None:
    graph = await backend.graph(library.dataset)

    assert sorted(graph.entity_keys) == ["bash", "blob", "git", "hook", "tree"]
    assert len(graph.chunk_ids) == 4
    assert len(graph.mention_chunk) == len(graph.mention_entity) == 7
    pairs = {
        (graph.entity_keys[a], graph.entity_keys[b], float(w))
        for a, b, w in zip(graph.relation_source, graph.relation_target, graph.relation_weight, strict=True)
    }
    assert pairs == {("git", "blob", 2.0), ("tree", "blob", 2.0), ("git", "hook", 2.0)}


async def test_deleting_a_document_keeps_the_entities_others_mention(
    backend: Store, library: Library, backend_runtime: Runtime
) -> None:
    async with backend_runtime.gate.hold(library.dataset):
        await backend.delete_document(library.dataset, library.git.document.id)

    counts = await backend.counts(library.dataset)
    keys = {
        e.key
        for e in await backend.find_entities(library.dataset, ["git", "blob", "tree", "bash", "hook"], 10)
    }
    left = await backend.search_chunks(library.dataset, _vector(0).tolist(), 10)

    assert keys == {"git", "bash", "hook"}  # blob and tree were the git book's alone
    assert counts.nodes == {"Document": 1, "Section": 1, "Page": 2, "Chunk": 2, "Entity": 3}
    assert sum(counts.vectors.values()) == 2
    assert {s.chunk.document_id for s in left} == {library.bash.document.id}
    assert await backend.get_chunks(library.dataset, [c.id for c in library.git.chunks]) == []


async def test_an_entity_two_documents_share_keeps_the_other_documents_mentions(
    backend: Store, library: Library, backend_runtime: Runtime
) -> None:
    git_chunks = {c.id for c in library.git.chunks}
    async with backend_runtime.gate.hold(library.dataset):
        await backend.delete_document(library.dataset, library.git.document.id)

    [git] = await backend.find_entities(library.dataset, ["git"], 10)
    mentioning = await backend.chunks_mentioning(library.dataset, git.id, 10)
    neighbours = await backend.neighbours(library.dataset, git.id, 10)
    graph = await backend.graph(library.dataset)
    counts = await backend.counts(library.dataset)
    nearest = await backend.search_chunks(library.dataset, _vector(0).tolist(), 10)

    assert git.chunks == 1
    assert [c.id for c in mentioning] == [library.bash.chunks[1].id]
    assert {(n.entity.key, n.relation) for n in neighbours} == {("hook", "uses")}  # git -> blob went
    assert set(graph.chunk_ids) == {c.id for c in library.bash.chunks}
    assert len(graph.mention_chunk) == 3 and len(graph.relation_source) == 1
    assert (counts.edges["mentions"], counts.edges["uses"], counts.edges["has_chunk"]) == (3, 1, 2)
    assert len(nearest) == 2 and not git_chunks & {s.chunk.id for s in nearest}


async def test_entities_by_id_skip_unknown_ids_and_other_datasets(backend: Store, library: Library) -> None:
    git, hook = entity_id(library.dataset, "git"), entity_id(library.dataset, "hook")
    their_git = entity_id(library.other, "git")
    asked = [hook, "no-such-id", library.git.chunks[0].id, their_git, git, hook]

    found = await backend.get_entities(library.dataset, asked)

    assert [(e.id, e.key, e.name, e.kind, e.chunks) for e in found] == [
        (hook, "hook", "Hook", "term", 1),
        (git, "git", "Git", "term", 2),
    ]
    assert await backend.get_entities(library.dataset, []) == []
    assert [e.key for e in await backend.get_entities(library.other, [their_git, git])] == ["git"]


async def test_deleting_a_dataset_leaves_every_other_dataset_as_it_was(
    backend: Store, library: Library, backend_runtime: Runtime
) -> None:
    before = await _snapshot(backend, library.other)

    async with backend_runtime.gate.hold(library.dataset):
        await backend.delete_dataset(library.dataset)

    assert not await backend.dataset_exists(library.dataset)
    assert library.dataset not in await backend.list_datasets()
    assert library.other in await backend.list_datasets()
    assert await _snapshot(backend, library.other) == before
    with pytest.raises(DatasetNotFoundError):
        await backend.search_chunks(library.dataset, _vector(0).tolist(), 10)


async def test_a_deleted_dataset_made_again_starts_empty(
    backend: Store, library: Library, backend_runtime: Runtime
) -> None:
    async with backend_runtime.gate.hold(library.dataset):
        await backend.delete_dataset(library.dataset)
    await backend.ensure_dataset(library.dataset)
    assert (await backend.counts(library.dataset)).nodes == {}
    assert await backend.search_chunks(library.dataset, _vector(0).tolist(), 10) == []
    fresh = _book(library.dataset, "fresh", ["Blobs again, after the delete."], [["blob"]], 5)
    async with backend_runtime.gate.hold(library.dataset):
        await backend.write(library.dataset, _groups(fresh))

    counts = await backend.counts(library.dataset)
    nearest = await backend.search_chunks(library.dataset, _vector(0).tolist(), 10)
    [blob] = await backend.find_entities(library.dataset, ["blob"], 10)

    assert await backend.dataset_exists(library.dataset)
    assert counts.nodes == {"Document": 1, "Section": 1, "Page": 1, "Chunk": 1, "Entity": 1}
    assert sum(counts.vectors.values()) == 1
    assert [s.chunk.text for s in nearest] == ["Blobs again, after the delete."]
    assert blob.chunks == 1
    assert await backend.find_entities(library.dataset, ["git"], 10) == []


async def test_deleting_a_dataset_that_does_not_exist_does_nothing(backend: Store, library: Library) -> None:
    missing = new_dataset_name("never-made")

    await backend.delete_dataset(missing)
    await backend.delete_dataset(library.dataset)
    await backend.delete_dataset(library.dataset)

    assert not await backend.dataset_exists(missing)
    assert missing not in await backend.list_datasets()
    assert (await backend.counts(library.other)).nodes["Document"] == 1


async def _snapshot(backend: Store, dataset: str) -> tuple[object, ...]:
    """What a user of ``dataset`` sees: nearest chunks with scores, counts, stats, graph."""
    graph = await backend.graph(dataset)
    return (
        [(s.chunk, round(s.score, 6)) for s in await backend.search_chunks(dataset, _vector(0).tolist(), 10)],
        await backend.counts(dataset),
        await backend.stats(dataset),
        (sorted(graph.entity_keys), sorted(graph.chunk_ids), len(graph.mention_chunk)),
        await backend.find_entities(dataset, ["git", "blob"], 10),
    )


async def test_datasets_are_isolated(backend: Store, library: Library) -> None:
    mine = await backend.search_chunks(library.dataset, _vector(0).tolist(), 10)
    theirs = await backend.search_chunks(library.other, _vector(0).tolist(), 10)
    crossed = await backend.get_chunks(library.dataset, [c.id for c in library.elsewhere.chunks])
    [their_git] = await backend.find_entities(library.other, ["git"], 10)

    assert {s.chunk.dataset for s in mine} == {library.dataset}
    assert [s.chunk.text for s in theirs] == ["A text of another dataset about git blobs."]
    assert crossed == []
    assert await backend.chunks_mentioning(library.dataset, their_git.id, 10) == []
    assert (await backend.counts(library.other)).nodes["Document"] == 1


async def test_repairs_recheck_their_defect_and_touch_no_other_dataset(
    backend: Store, library: Library, backend_runtime: Runtime
) -> None:
    """A stale plan changes nothing that is no longer a defect: an entity a chunk mentions,
    a vector row a chunk has, a chunk that does not exist, a merge of non-entities."""
    dataset, other = library.dataset, library.other
    git, blob, chunk = entity_id(dataset, "git"), entity_id(dataset, "blob"), library.git.chunks[0].id
    their_git = entity_id(other, "git")
    before, theirs = await backend.counts(dataset), await backend.counts(other)

    async with backend_runtime.gate.hold(dataset):
        deleted = await backend.delete_orphan_entities(dataset, [git, their_git, chunk, "no-such-id"])
        stray = await backend.delete_stray_vectors(dataset, [chunk, library.elsewhere.chunks[0].id])
        written = await backend.restore_vectors(dataset, ["no-such-chunk"], np.stack([_vector(9)]))
        merged = await backend.merge_entities(dataset, git, chunk)
        same = await backend.merge_entities(dataset, git, git)

    assert (deleted, stray, written, merged.merged, same.merged) == ([], [], [], False, False)
    assert await backend.counts(other) == theirs  # its vector row is its own
    assert await backend.counts(dataset) == before
    assert {e.key for e in await backend.get_entities(dataset, [git, blob])} == {"git", "blob"}
