"""The local graph extractor: which entities a chunk yields, under which keys, related how."""

from __future__ import annotations

import pytest

from cognition.extract.local import LocalExtractor
from cognition.extract.normalize import entity_key
from cognition.extract.port import ChunkGraph, Relation


def extract(text: str, **limits: int) -> ChunkGraph:
    return LocalExtractor(**limits).extract_one(text)


def keys(graph: ChunkGraph) -> list[str]:
    return [e.key for e in graph.entities]


def relations_between(graph: ChunkGraph, a: str, b: str) -> list[Relation]:
    return [r for r in graph.relations if {r.source, r.target} == {a, b}]


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("surface", ["Git", "git", "GIT", "Git's", '"git",', "(git)"])
def test_case_possessive_and_punctuation_meet_on_one_key(surface: str) -> None:
    assert entity_key(surface) == "git"


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("branches", "branch"),
        ("commits", "commit"),
        ("repositories", "repository"),
        ("Pack files", "pack file"),
        ("indexes", "index"),
        ("boxes", "box"),
    ],
)
def test_plural_and_singular_meet_on_one_key(plural: str, singular: str) -> None:
    assert entity_key(plural) == entity_key(singular)


@pytest.mark.parametrize("word", ["class", "status", "analysis", "bus", "git"])
def test_words_that_only_look_plural_are_kept(word: str) -> None:
    assert entity_key(word) == word


def test_variable_forms_meet_on_one_key() -> None:
    assert entity_key("$HOME") == entity_key("${HOME}") == "home"


def test_function_call_and_bare_name_meet_on_one_key() -> None:
    # "read_tree()" in a chunk and "read_tree" in a query must name the same graph entity
    assert entity_key("read_tree()") == entity_key("read_tree")


# --------------------------------------------------------------------------- entities


def test_git_in_any_case_is_one_entity_of_a_chunk() -> None:
    graph = extract("Git is a content tracker. We run git every day, and git never forgets. GIT stays fast.")

    assert keys(graph).count("git") == 1
    assert sum(1 for k in keys(graph) if k.lower() == "git") == 1


def test_plural_and_singular_mentions_are_one_entity_of_a_chunk() -> None:
    graph = extract("Pack files save space. A pack file holds many objects. The packfile format is compact.")

    assert keys(graph).count("pack file") == 1
    assert "pack files" not in keys(graph)


def test_code_identifiers_are_found_as_code() -> None:
    graph = extract(
        "Use --no-ff when merging. Set $GIT_DIR or ${HOME} first. "
        "The core_editor and user_name keys matter. Read core.bare from the config."
    )
    found = {e.key: e for e in graph.entities}

    for key in ("--no-ff", "git_dir", "home", "core_editor", "user_name", "core.bare"):
        assert key in found, (key, sorted(found))
        assert found[key].kind == "code"
    assert found["git_dir"].name == "$GIT_DIR"
    assert found["home"].name == "${HOME}"


def test_proper_names_and_terms() -> None:
    graph = extract(
        "Linus Torvalds created the Linux kernel. The object database holds every object database entry."
    )
    found = {e.key: e.kind for e in graph.entities}

    assert found[entity_key("Linus Torvalds")] == "name"
    assert found["linux kernel"] == "term"
    assert found["object database"] == "term"


def test_stopwords_and_one_off_single_words_are_not_entities() -> None:
    graph = extract("This is what they would do with it, and then some other thing happened once.")

    assert not {"this", "what", "they", "would", "with", "other", "thing"} & set(keys(graph))
    assert "happened" not in keys(graph)


def test_entities_per_chunk_are_capped_and_relations_stay_among_kept_entities() -> None:
    text = " ".join(f"Project{name} uses Library{name}." for name in "ABCDEFGHIJ")
    graph = extract(text, max_entities_per_chunk=4)
    kept = set(keys(graph))

    assert len(graph.entities) == 4
    assert all(r.source in kept and r.target in kept for r in graph.relations)


# --------------------------------------------------------------------------- relations


def test_a_verb_between_two_mentions_names_the_relation() -> None:
    graph = extract("Git uses OpenSSL for hashing.")

    assert Relation("git", "openssl", "uses", 1.0) in graph.relations


def test_relation_weight_counts_the_sentences_that_state_it() -> None:
    graph = extract("Repositories hold branches; a repository holds a branch.")

    assert relations_between(graph, "repository", "branch") == [
        Relation("repository", "branch", "contains", 2.0)
    ]


def test_mentions_sharing_a_sentence_without_a_verb_co_occur_weighted_by_sentences() -> None:
    graph = extract(
        "Blob objects and tree objects are compressed. Blob objects and tree objects are addressed by hash."
    )

    assert relations_between(graph, "blob object", "tree object") == [
        Relation("blob object", "tree object", "co_occurs_with", 2.0)
    ]


def test_a_named_pair_is_not_also_counted_as_co_occurring() -> None:
    graph = extract("Git uses OpenSSL for hashing.")

    assert [r.name for r in relations_between(graph, "git", "openssl")] == ["uses"]


def test_mentions_in_different_sentences_are_not_related() -> None:
    graph = extract("Linus Torvalds wrote patches. Mercurial is another system.")

    assert not relations_between(graph, entity_key("Linus Torvalds"), "mercurial")


async def test_extract_keeps_one_result_per_text_in_order() -> None:
    texts = ["Git uses OpenSSL for hashing.", "", "Set $GIT_DIR first."]

    graphs = await LocalExtractor().extract(texts)

    assert len(graphs) == 3
    assert "openssl" in keys(graphs[0])
    assert graphs[1].entities == [] and graphs[1].relations == []
    assert keys(graphs[2]) == ["git_dir"]
