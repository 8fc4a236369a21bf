"""Search as the API, the MCP tools and the CLI answer it: filters, a character budget for
the hits' text, and honest empty answers ("no match" is not "still importing")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cognition.errors import DatasetNotFoundError
from cognition.ledger import IN_FLIGHT
from cognition.runtime import Runtime
from cognition.search import Accept, Hit
from cognition.store.port import StoredChunk

MIN_HIT_CHARS = 80  # a hit's text is never cut shorter than this, whatever the budget
Status = Literal["ok", "no_match", "importing", "empty"]


@dataclass(frozen=True)
class SearchFilters:
    document_ids: tuple[str, ...] = ()
    source_prefix: str | None = None
    section: str | None = None  # case-insensitive, part of any heading on the chunk's section path

    def accept(self) -> Accept | None:
        if not (self.document_ids or self.source_prefix or self.section):
            return None
        documents = set(self.document_ids)
        prefix = self.source_prefix
        section = (self.section or "").casefold()

        def accepts(chunk: StoredChunk) -> bool:
            return (
                (not documents or chunk.document_id in documents)
                and (prefix is None or chunk.source.startswith(prefix))
                and (not section or any(section in title.casefold() for title in chunk.section_path))
            )

        return accepts


@dataclass
class SearchAnswer:
    query: str
    mode: str
    datasets: list[str]
    hits: list[Hit]
    status: Status
    pending_documents: int = 0  # documents of the searched datasets still being imported
    text_budget: int = 0
    full_lengths: dict[str, int] = field(default_factory=dict)  # chunk id -> its text's length

    @property
    def message(self) -> str:
        if self.status == "importing":
            return (
                f"no stored text matches yet: {self.pending_documents} document(s) are still being "
                "imported; search again when they are done"
            )
        if self.status == "empty":
            return "the dataset(s) hold no stored documents yet"
        if self.status == "no_match":
            return "nothing matches this query"
        return f"{len(self.hits)} hit(s)"

    def truncated(self, hit: Hit) -> bool:
        return self.full_lengths.get(hit.chunk_id, len(hit.text)) > len(hit.text)


async def search(
    runtime: Runtime,
    query: str,
    datasets: Sequence[str],
    mode: str,
    top_k: int,
    filters: SearchFilters | None = None,
    text_budget: int | None = None,
) -> SearchAnswer:
    """Search the named datasets (each must exist in the ledger). Datasets with nothing
    stored yet are answered by their import state, not searched."""
    ledger = runtime.ledger
    for name in datasets:
        if ledger.dataset(name) is None:
            raise DatasetNotFoundError(name)
    searchable = [name for name in datasets if await runtime.store.dataset_exists(name)]
    pending = sum(1 for name in datasets for r in ledger.documents(name) if r.state in IN_FLIGHT)
    budget = text_budget or runtime.settings.api.text_budget
    if searchable:
        accept = (filters or SearchFilters()).accept()
        hits = await runtime.searcher.search(query, searchable, mode, top_k, accept)
    else:
        runtime.searcher.validate(query, datasets, mode, top_k)
        hits = []
    answer = SearchAnswer(query, mode, list(datasets), hits, "ok", pending, budget)
    if not hits:
        stored = any(r.state == "stored" for name in datasets for r in ledger.documents(name, "stored"))
        answer.status = "importing" if pending else ("no_match" if stored else "empty")
    _cut(answer, budget)
    return answer


def _cut(answer: SearchAnswer, budget: int) -> None:
    """Share the budget among the hits; a hit's text beyond its share is cut at a word."""
    if not answer.hits:
        return
    share = max(budget // len(answer.hits), MIN_HIT_CHARS)
    for hit in answer.hits:
        answer.full_lengths[hit.chunk_id] = len(hit.text)
        if len(hit.text) > share:
            cut = hit.text[:share]
            space = cut.rfind(" ")
            hit.text = (cut[:space] if space > share // 2 else cut).rstrip() + " …"
