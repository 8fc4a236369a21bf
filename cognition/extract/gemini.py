"""The Gemini graph extractor: one ``generateContent`` call per chunk, structured JSON out,
every call admitted by the rate governor.

One request per chunk, not several chunks per request: attribution stays exact (an answer
can only be about its own chunk, never about a neighbour's), a bad answer costs one chunk,
and a cache keyed by (chunk hash, model, ``PROMPT_VERSION``) can later skip chunks one by
one. The price is a request per chunk against the requests-per-minute quota; the governor
paces them, and the prompt is short next to a chunk.

The model's answer is read defensively. Invalid, truncated or schema-violating JSON, or no
answer at all, gives that chunk an empty graph, counted in ``stats`` and logged with the
chunk's index: a book never fails for one bad answer. A relation naming an entity the
chunk's list does not hold is dropped; relation names become snake_case, and the store's
structural edge names (``mentions``, ``has_page``...) are never produced, so the audit
cannot mistake a relation for structure. Entity keys come from ``normalize.entity_key``,
the local extractor's, so both extractors' entities meet on one key.

Provider failures are not bad answers: ``QuotaParked``, ``QuotaTerminal``,
``ProviderUnavailable`` (a 5xx, a malformed HTTP body) propagate to the job layer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from google.genai import types
from pydantic import BaseModel, ValidationError

from cognition.budget import BudgetExhausted, paid
from cognition.embedding.gemini import make_client
from cognition.errors import ConfigurationError
from cognition.extract.normalize import entity_key
from cognition.extract.port import ChunkGraph, EntityKind, EntityMention, Relation
from cognition.governor import Governor, QuotaParked, QuotaTerminal
from cognition.settings import GeminiSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Bump with any change to PROMPT or SCHEMA: cached extractions are keyed by it.
PROMPT_VERSION = "graph-1"
PROMPT = """\
You extract a knowledge graph from one passage of a book or a web page.

Answer with JSON only, following the response schema:
- "entities": at most {max_entities} of the passage's most important named things and
  technical concepts (people, organizations, places, products, technologies, code
  identifiers and commands, key concepts). For each one: "name" as written in the passage,
  without articles; "type", one of {types}; "description", one short sentence saying
  what it is, from the passage only.
- "relations": directed facts the passage states between two of those entities. "source"
  and "target" are names exactly as listed in "entities"; "type" is a short verb in
  snake_case, such as uses, contains, depends_on, is_part_of, written_by.
Never invent an entity or a fact the passage does not state. A passage with none gets
empty lists.

Passage:
<<<
{text}
>>>
"""
ENTITY_TYPES = (
    "person",
    "organization",
    "place",
    "event",
    "work",
    "product",
    "technology",
    "code",
    "concept",
    "other",
)
# The edge names the store writes for structure (store/cognee/schema.py): never a relation.
STRUCTURAL_EDGES = frozenset(
    {"mentions", "has_page", "has_chunk", "on_page", "has_section", "has_subsection"}
)
FALLBACK_RELATION = "related_to"
_MAX_RELATION_CHARS = 64
_KINDS: dict[str, EntityKind] = {
    "code": "code",
    "concept": "term",
    **{
        name: "name" for name in ("person", "organization", "place", "event", "work", "product", "technology")
    },
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _schema() -> types.Schema:
    string = types.Schema(type=types.Type.STRING)
    entity = types.Schema(
        type=types.Type.OBJECT,
        properties={
            "name": string,
            "type": types.Schema(type=types.Type.STRING, enum=list(ENTITY_TYPES)),
            "description": string,
        },
        required=["name", "type", "description"],
        property_ordering=["name", "type", "description"],
    )
    relation = types.Schema(
        type=types.Type.OBJECT,
        properties={"source": string, "target": string, "type": string},
        required=["source", "target", "type"],
        property_ordering=["source", "target", "type"],
    )
    return types.Schema(
        type=types.Type.OBJECT,
        properties={
            "entities": types.Schema(type=types.Type.ARRAY, items=entity),
            "relations": types.Schema(type=types.Type.ARRAY, items=relation),
        },
        required=["entities", "relations"],
        property_ordering=["entities", "relations"],
    )


SCHEMA = _schema()


class _Entity(BaseModel):
    name: str
    type: str = ""
    description: str = ""


class _Relation(BaseModel):
    source: str
    target: str
    type: str


class _Answer(BaseModel):
    """What the schema asks for; anything else in the answer is ignored."""

    entities: list[_Entity]
    relations: list[_Relation] = []


class BadAnswer(ValueError):
    """The model answered this chunk with something that is not the schema's JSON."""


def api_key(settings: GeminiSettings) -> str:
    if settings.api_key is None or not settings.api_key.get_secret_value().strip():
        raise ConfigurationError(
            "the gemini extractor needs an API key: set COGNITION_GEMINI__API_KEY (or choose "
            "COGNITION_EXTRACTION__EXTRACTOR=local)"
        )
    return settings.api_key.get_secret_value()


def extraction_model_id(model: str) -> str:
    """The extractor's ``model_id`` for ``model`` (the result cache's key)."""
    return f"gemini/{model}#{PROMPT_VERSION}"


def build_prompt(text: str, max_entities: int) -> str:
    return PROMPT.format(max_entities=max_entities, types=", ".join(ENTITY_TYPES), text=text)


def estimate_tokens(prompt: str) -> int:
    """Input tokens of a prompt, about four characters each (reserved, then reconciled)."""
    return max(1, math.ceil(len(prompt) / 4))


def relation_name(raw: str) -> str:
    """``"is part of"``, ``"isPartOf"``, ``"IS-PART-OF"`` → ``is_part_of``; a structural
    edge name or nothing at all → ``related_to``."""
    name = _NON_WORD.sub("_", _CAMEL.sub("_", raw.strip()).lower()).strip("_")[:_MAX_RELATION_CHARS]
    name = name.strip("_")
    return FALLBACK_RELATION if not name or name in STRUCTURAL_EDGES else name


def entity_kind(category: str, name: str) -> EntityKind:
    """The port's kind for Gemini's type; an unknown type is a name when capitalized."""
    kind = _KINDS.get(category.strip().lower())
    if kind is not None:
        return kind
    return "name" if name[:1].isupper() else "term"


def parse_answer(text: str | None, max_entities: int, min_chars: int) -> ChunkGraph:
    """The chunk's graph from the model's JSON text, or ``BadAnswer`` saying what is wrong."""
    if text is None or not text.strip():
        raise BadAnswer("no answer text")
    try:
        answer = _Answer.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the answer"
        raise BadAnswer(f"{where}: {first['msg']} ({len(text)} characters)") from None
    entities: dict[str, EntityMention] = {}
    for item in answer.entities:
        key = entity_key(item.name)
        if len(key) < min_chars or key in entities:
            continue
        name = item.name.strip()
        category = item.type.strip().lower()
        entities[key] = EntityMention(
            key, name, entity_kind(category, name), category, item.description.strip()
        )
        if len(entities) >= max_entities:
            break
    return ChunkGraph(list(entities.values()), _relations(answer.relations, entities))


def _relations(found: list[_Relation], entities: dict[str, EntityMention]) -> list[Relation]:
    """Relations between the chunk's own entities, one per (source, target, name), weighted by
    how often the answer states it; any other is dropped."""
    weights: Counter[tuple[str, str, str]] = Counter()
    for item in found:
        source, target = entity_key(item.source), entity_key(item.target)
        if source in entities and target in entities and source != target:
            weights[(source, target, relation_name(item.type))] += 1
    return [Relation(s, t, name, float(w)) for (s, t, name), w in weights.items()]


def _prompt_tokens(response: types.GenerateContentResponse) -> int | None:
    usage = response.usage_metadata
    return None if usage is None else usage.prompt_token_count


def billed_tokens(response: types.GenerateContentResponse) -> tuple[int, int] | None:
    """(input, output) tokens the answer reports; output counts thinking tokens (billed too)."""
    usage = response.usage_metadata
    if usage is None or usage.prompt_token_count is None:
        return None
    return usage.prompt_token_count, (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)


class GeminiExtractor:
    """Implements ``cognition.extract.port.GraphExtractor`` on the Gemini API."""

    name = "gemini"

    def __init__(
        self,
        settings: GeminiSettings,
        governor: Governor,
        max_entities_per_chunk: int = 24,
        min_entity_chars: int = 2,
    ) -> None:
        api_key(settings)
        self._settings = settings
        self._client = make_client(settings)
        self.governor = governor
        self._max = max_entities_per_chunk
        self._min_chars = min_entity_chars
        self._config = types.GenerateContentConfig(
            response_mime_type="application/json",
            response_schema=SCHEMA,
            temperature=0.0,
            max_output_tokens=settings.extraction_max_output_tokens,
        )
        self.stats: Counter[str] = Counter()  # chunks, bad_answers, entities, relations

    @property
    def model_id(self) -> str:
        """What made a chunk's graph: the model and the prompt's version (a cache's key)."""
        return extraction_model_id(self._settings.extraction_model)

    async def extract(self, texts: Sequence[str]) -> list[ChunkGraph]:
        """One call per chunk, at most the quota's concurrency at once; the first provider
        failure (a parked or terminal quota first) cancels the rest and is raised. A budget
        reached cancels nothing: calls already admitted finish (they are paid for), then
        ``BudgetExhausted`` is raised with their graphs in ``partial``."""
        slots = asyncio.Semaphore(self.governor.quota.max_concurrency)

        async def one(index: int, text: str) -> ChunkGraph | BudgetExhausted:
            async with slots:
                try:
                    return await self._extract_one(index, len(texts), text)
                except BudgetExhausted as exc:
                    return exc

        results = await _all([one(i, text) for i, text in enumerate(texts)])
        graphs = [r for r in results if isinstance(r, ChunkGraph)]
        if len(graphs) < len(results):
            refused = next(r for r in results if isinstance(r, BudgetExhausted))
            refused.partial = {i: r for i, r in enumerate(results) if isinstance(r, ChunkGraph)}
            raise refused
        return graphs

    async def _extract_one(self, index: int, total: int, text: str) -> ChunkGraph:
        prompt = build_prompt(text, self._max)
        model = self._settings.extraction_model

        async def call() -> types.GenerateContentResponse:
            return await self._client.aio.models.generate_content(
                model=model, contents=prompt, config=self._config
            )

        tokens = estimate_tokens(prompt)
        response = await paid(
            model,
            tokens,
            lambda: self.governor.call(call, tokens=tokens, usage=_prompt_tokens),
            usage=billed_tokens,
            generates=True,
        )
        self.stats["chunks"] += 1
        try:
            graph = parse_answer(answer_text(response), self._max, self._min_chars)
        except BadAnswer as exc:
            self.stats["bad_answers"] += 1
            ended = stop_note(response)
            log.warning("%s: chunk %d of %d keeps no entities: %s%s", model, index, total, exc, ended)
            return ChunkGraph()
        self.stats["entities"] += len(graph.entities)
        self.stats["relations"] += len(graph.relations)
        return graph

    async def aclose(self) -> None:
        """Close the client's HTTP sessions and the governor's Redis client."""
        await self._client.aio.aclose()
        await self.governor.close()

    def close(self) -> None:
        self._client.close()


def answer_text(response: types.GenerateContentResponse) -> str | None:
    """The first candidate's text, cut or not (a cut one fails to parse: that is the point)."""
    candidates = response.candidates or []
    if not candidates or candidates[0].content is None:
        return None
    parts = candidates[0].content.parts or []
    texts = [part.text for part in parts if part.text is not None and not part.thought]
    return "".join(texts) if texts else None


def stop_note(response: types.GenerateContentResponse) -> str:
    """Why the model stopped, when not by finishing (``MAX_TOKENS``: the answer was cut)."""
    candidates = response.candidates or []
    reason = candidates[0].finish_reason if candidates else None
    if reason is None or reason == types.FinishReason.STOP:
        return ""
    return f" (the model stopped: {reason.value})"


async def _all(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Every call's result in order, or the most telling failure with the rest cancelled."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except BaseExceptionGroup as failed:
        raise min(failed.exceptions, key=_severity) from None
    return [task.result() for task in tasks]


async def _awaited(call: Awaitable[T]) -> T:
    return await call


def _severity(exc: BaseException) -> int:
    """A terminal quota stops the import, a parked one parks it: either says more than a 5xx."""
    return 0 if isinstance(exc, QuotaTerminal) else 1 if isinstance(exc, QuotaParked) else 2
