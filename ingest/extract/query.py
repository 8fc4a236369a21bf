"""Entity keys of a search query, found by the same rules that built the graph."""

from __future__ import annotations

from ingest.extract.local import LocalExtractor
from ingest.extract.normalize import entity_key
from ingest.extract.words import STOPWORDS

_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "where", "when", "why", "how", "does", "did"})


class QueryKeys:
    """Implements ``cognition.search.QueryAnalyzer``.

    Queries are short, so besides the extractor's entities every content word counts too
    (in a chunk a single word must repeat to become an entity; in a query it need not).
    """

    def __init__(self) -> None:
        self._extractor = LocalExtractor(max_entities_per_chunk=64, min_entity_chars=2)

    def keys(self, query: str) -> list[str]:
        found = [m.key for m in self._extractor.extract_one(query).entities]
        for word in query.replace("?", " ").split():
            key = entity_key(word)
            if len(key) >= 3 and key not in STOPWORDS and key not in _QUESTION_WORDS:
                found.append(key)
        return list(dict.fromkeys(found))
