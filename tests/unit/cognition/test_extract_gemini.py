"""Reading the Gemini extractor's answers: names, kinds, and what a bad answer says."""

from __future__ import annotations

import pytest
from google.genai import types

from cognition.extract.gemini import (
    PROMPT_VERSION,
    BadAnswer,
    answer_text,
    build_prompt,
    parse_answer,
    relation_name,
    stop_note,
)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("uses", "uses"),
        ("Is Part Of", "is_part_of"),
        ("isPartOf", "is_part_of"),
        ("DEPENDS-ON", "depends_on"),
        ("  written by. ", "written_by"),
        ("", "related_to"),
        ("!!", "related_to"),
        ("mentions", "related_to"),
        ("Has Page", "related_to"),
        ("hasSubsection", "related_to"),
        ("on_page", "related_to"),
    ],
)
def test_relation_names_are_snake_case_and_never_structural(raw: str, name: str) -> None:
    assert relation_name(raw) == name


def test_entities_are_deduplicated_by_key_and_capped() -> None:
    answer = (
        '{"entities": [{"name": "Repositories", "type": "concept", "description": "a"},'
        ' {"name": "repository", "type": "concept", "description": "b"},'
        ' {"name": "Git", "type": "technology", "description": "c"},'
        ' {"name": "Linux", "type": "technology", "description": "d"}],'
        ' "relations": [{"source": "Git", "target": "Git", "type": "uses"},'
        ' {"source": "Git", "target": "repository", "type": "uses"},'
        ' {"source": "git", "target": "Repositories", "type": "Uses"},'
        ' {"source": "Git", "target": "Linux", "type": "uses"}]}'
    )
    graph = parse_answer(answer, max_entities=2, min_chars=2)
    assert [(e.key, e.description) for e in graph.entities] == [("repository", "a"), ("git", "c")]
    # a self-loop and the relation to the entity over the cap are dropped; the repeat weighs 2
    assert [(r.source, r.target, r.name, r.weight) for r in graph.relations] == [
        ("git", "repository", "uses", 2.0)
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (None, "no answer text"),
        ("", "no answer text"),
        ('{"entities": [{"name": "Git", "ty', "Invalid JSON"),
        ('{"relations": []}', "entities: Field required"),
        ('{"entities": [{"name": null}]}', "entities.0.name"),
    ],
)
def test_a_bad_answer_says_what_is_wrong(text: str | None, says: str) -> None:
    with pytest.raises(BadAnswer, match=says):
        parse_answer(text, max_entities=24, min_chars=2)


def test_the_prompt_is_versioned_and_holds_the_passage() -> None:
    prompt = build_prompt("Git keeps history.", 12)
    assert PROMPT_VERSION and "Git keeps history." in prompt and "at most 12" in prompt


def test_a_cut_answer_says_the_model_stopped_at_its_token_limit() -> None:
    def response(reason: types.FinishReason) -> types.GenerateContentResponse:
        content = types.Content(role="model", parts=[types.Part(text='{"entities": [')])
        return types.GenerateContentResponse(
            candidates=[types.Candidate(content=content, finish_reason=reason)]
        )

    assert stop_note(response(types.FinishReason.MAX_TOKENS)) == " (the model stopped: MAX_TOKENS)"
    assert stop_note(response(types.FinishReason.STOP)) == ""
    assert answer_text(response(types.FinishReason.MAX_TOKENS)) == '{"entities": ['
