"""``cognition estimate``: what an import would pay, without calling a model.

The documents are resolved, read and chunked exactly as an import does (``targets``,
``open_source``, the same batch size); each chunk's extraction prompt is built as the
Gemini extractor builds it; chunks the result cache already holds, and documents the
dataset already stores, are not counted (an import would not pay for them).

Tokens are estimated by the rule the governor's reservations use, about four characters a
token (``INPUT_COUNTING``): no Gemini tokenizer can be installed offline (google-genai's
local tokenizer downloads its model at run time). With ``count_api`` the extraction prompts
are counted by the API's ``countTokens`` instead (free; needs the key and the network).
Output tokens cannot be counted before the answer exists: they are the dataset's recorded
mean per extraction call when it has one, else ``gemini.expected_output_tokens``.
Embeddings have no output.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from cognition.budget import cost_of
from cognition.cache import EMBEDDING_VERSION, Scope, SqliteCache, digest
from cognition.datasets import document_id
from cognition.embedding.gemini import count_tokens, embedding_model_id, estimate_tokens
from cognition.errors import DocumentError
from cognition.extract.gemini import PROMPT_VERSION, build_prompt, extraction_model_id
from cognition.extract.gemini import estimate_tokens as prompt_tokens
from cognition.ledger import Ledger
from cognition.paths import DataPaths
from cognition.settings import Settings
from ingest.files import open_source
from ingest.pdf import sha256_file
from ingest.targets import Targets

INPUT_COUNTING = (
    "estimated at 4 characters a token (Google's rule of thumb; no Gemini tokenizer can be "
    "installed offline): an approximation of the provider's count, not that count"
)


@dataclass
class ModelEstimate:
    """One paid model's share of the import."""

    model: str
    purpose: Literal["extraction", "embedding"]
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_chunks: int = 0  # held by the result cache (or paid earlier in the same import)
    cost: float | None = None  # US dollars; None: the model has no price in the settings


@dataclass
class Estimate:
    dataset: str
    documents: int = 0  # to import
    already_stored: list[str] = field(default_factory=list)
    chunks: int = 0
    models: list[ModelEstimate] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    not_estimated: list[str] = field(default_factory=list)  # crawls: their pages are not fetched
    input_counting: str = INPUT_COUNTING
    output_basis: str = ""

    def to_json(self) -> dict[str, object]:
        costs = [m.cost for m in self.models]
        total = None if None in costs else round(sum(c or 0.0 for c in costs), 6)
        return {**asdict(self), "cost": total, "calls": sum(m.calls for m in self.models)}


class _Chunks:
    """The chunk texts to import, in the pipeline's batches, by document."""

    def __init__(self, settings: Settings, ledger: Ledger, estimate: Estimate) -> None:
        self._settings, self._ledger, self._estimate = settings, ledger, estimate
        self.batches: list[list[str]] = []
        self._docs: set[str] = set()

    def add(self, path_kind: tuple[Path, str], password: str | None) -> None:
        path, kind = path_kind
        try:
            content_hash = sha256_file(path)
            doc_id = document_id(self._estimate.dataset, content_hash)
            record = self._ledger.get(self._estimate.dataset, doc_id)
            if doc_id in self._docs or (record is not None and record.state in ("stored", "needs_ocr")):
                self._estimate.already_stored.append(str(path))
                return
            imports = self._settings.imports
            _, chunks = open_source(
                path,
                kind,
                password,
                self._settings.chunking,
                imports.max_pages,
                content_hash,
            )
            texts = [chunk.text for chunk in chunks()]
        except (DocumentError, OSError) as exc:
            self._estimate.failed.append({"path": str(path), "reason": str(exc)})
            return
        self._docs.add(doc_id)
        self._estimate.documents += 1
        self._estimate.chunks += len(texts)
        size = self._settings.imports.chunks_per_batch
        self.batches += [texts[i : i + size] for i in range(0, len(texts), size)]


def estimate(
    settings: Settings,
    ledger: Ledger,
    targets: Targets,
    password: str | None = None,
    count_api: bool = False,
) -> Estimate:
    """What importing ``targets`` would pay for, given the settings, the ledger and the cache;
    ``count_api``: the extraction prompts' tokens counted by the API's free ``countTokens``."""
    result = Estimate(targets.dataset, not_estimated=[" ".join(spec.seeds) for spec in targets.crawls])
    chunks = _Chunks(settings, ledger, result)
    for item in targets.files:
        chunks.add(item, password)
    cache = _cache(settings)
    gemini = settings.gemini
    if settings.extraction.extractor == "gemini":
        output, result.output_basis = _output_per_call(settings, ledger, targets.dataset)
        scope = Scope(extraction_model_id(gemini.extraction_model), "extraction", PROMPT_VERSION)
        extraction, prompts = _extraction(settings, chunks.batches, cache, scope, output)
        result.models.append(extraction)
        if count_api and prompts:
            extraction.input_tokens, calls = asyncio.run(
                count_tokens(settings, gemini.extraction_model, prompts)
            )
            result.input_counting = (
                f"extraction prompts counted by the Gemini API's countTokens ({calls} calls, free of "
                f"charge); embeddings {INPUT_COUNTING}"
            )
    if settings.embedding.provider == "gemini":
        scope = Scope(embedding_model_id(gemini), "embedding:document", EMBEDDING_VERSION)
        result.models.append(_embedding(settings, chunks.batches, cache, scope))
    for model in result.models:
        price = gemini.prices.get(model.model)
        if price is not None:
            model.cost = round(cost_of(price, model.input_tokens, model.output_tokens), 6)
    return result


def _cache(settings: Settings) -> SqliteCache | None:
    path = DataPaths.of(settings).cache
    return SqliteCache(path) if settings.gemini.cache and path.exists() else None


def _held(cache: SqliteCache | None, scope: Scope, texts: Iterable[str]) -> set[str]:
    return set() if cache is None else set(cache.get_many(scope, [digest(t) for t in texts]))


def _extraction(
    settings: Settings, batches: list[list[str]], cache: SqliteCache | None, scope: Scope, output: int
) -> tuple[ModelEstimate, list[str]]:
    """One call per chunk the cache does not hold (each distinct text once, when cached);
    the prompts of those calls."""
    found = ModelEstimate(settings.gemini.extraction_model, "extraction")
    most = settings.extraction.max_entities_per_chunk
    paid: set[str] = set()
    prompts: list[str] = []
    for batch in batches:
        held = _held(cache, scope, batch)
        for text in batch:
            key = digest(text)
            if settings.gemini.cache and (key in held or key in paid):
                found.cached_chunks += 1
                continue
            paid.add(key)
            prompts.append(build_prompt(text, most))
            found.calls += 1
            found.input_tokens += prompt_tokens(prompts[-1])
            found.output_tokens += output
    return found, prompts


def _embedding(
    settings: Settings, batches: list[list[str]], cache: SqliteCache | None, scope: Scope
) -> ModelEstimate:
    """Per pipeline batch, the texts to embed in calls of ``gemini.batch_size``."""
    found = ModelEstimate(settings.gemini.embedding_model, "embedding")
    paid: set[str] = set()
    for batch in batches:
        if settings.gemini.cache:
            held = _held(cache, scope, batch)
            todo = list(
                {digest(t): t for t in batch if digest(t) not in held and digest(t) not in paid}.items()
            )
            found.cached_chunks += len(batch) - len(todo)
            paid.update(key for key, _ in todo)
            texts = [text for _, text in todo]
        else:
            texts = batch
        found.calls += math.ceil(len(texts) / settings.gemini.batch_size)
        found.input_tokens += estimate_tokens(texts)
    return found


def _output_per_call(settings: Settings, ledger: Ledger, dataset: str) -> tuple[int, str]:
    """The answer tokens expected per extraction call, and where the figure comes from."""
    model = settings.gemini.extraction_model
    recorded = [row for row in ledger.spend(dataset) if row.model == model and row.output_tokens]
    calls = sum(row.calls for row in recorded)
    if calls:
        mean = round(sum(row.output_tokens for row in recorded) / calls)
        return mean, f"estimated: the dataset's recorded mean, {mean} tokens a call over {calls} calls"
    expected = settings.gemini.expected_output_tokens
    return expected, f"estimated: gemini.expected_output_tokens, {expected} tokens a call (none recorded yet)"
