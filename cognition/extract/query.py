"""Entity keys of a search query, found by the same rules that built the graph."""

from __future__ import annotations

from cognition.extract.local import LocalExtractor
from cognition.extract.normalize import entity_key
from cognition.extract.words import STOPWORDS

_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "where", "when", "why", "how", "does", "did"})


class QueryKeys:
    """Implements ``cognition.search.QueryAnalyzer``: the extractor's entities of the query.

    ``single_words`` adds every content word as well; on the multi-hop sets it lowered graph
    Recall@5 from 64 to 56.5 (generic words like "film" or "founded" seed the walk), so it is off.
    """

    def __init__(self, single_words: bool = False) -> None:
        self._extractor = LocalExtractor(max_entities_per_chunk=64, min_entity_chars=2)
        self.single_words = single_words

    def keys(self, query: str) -> list[str]:
        found = [m.key for m in self._extractor.extract_one(query).entities]
        if not self.single_words:
            return list(dict.fromkeys(found))
        for word in query.replace("?", " ").split():
            key = entity_key(word)
            if len(key) >= 3 and key not in STOPWORDS and key not in _QUESTION_WORDS:
                found.append(key)
        return list(dict.fromkeys(found))
