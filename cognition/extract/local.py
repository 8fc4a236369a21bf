"""The default graph extractor: rules, no model, no network.

Per chunk it finds
- proper names (runs of capitalized words),
- code identifiers and commands (``--option``, ``$VAR``, ``snake_case``, ``dotted.name``,
  ``func()``, ``CamelCase``, ``ALLCAPS``),
- technical terms (runs of two or three content words, RAKE style),
and relates entities that share a sentence: a verb between two neighbouring mentions names
the relation ("uses", "contains", ...); every other pair in the sentence co-occurs, weighted
by how many sentences they share.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import combinations, pairwise
from typing import Literal

from cognition.extract.normalize import entity_key
from cognition.extract.port import ChunkGraph, EntityMention, Relation
from cognition.extract.words import RELATION_VERBS, STOPWORDS

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z0-9(\"'‘“$-])")
_CODE = re.compile(
    r"(?<![\w$-])(?:"
    r"--?[a-zA-Z][\w-]{1,30}"  # options
    r"|\$\{?[A-Za-z_]\w*\}?"  # variables
    r"|[A-Za-z_]\w*\(\)"  # functions
    r"|[a-z][a-z0-9]*(?:_[a-z0-9]+)+"  # snake_case
    r"|[A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)+"  # dotted.names, file.ext
    r"|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z]+[A-Z][A-Za-z0-9]*"  # camelCase, CamelCase
    r"|[A-Z][A-Z0-9]{1,}(?:_[A-Z0-9]+)*"  # ALLCAPS
    r")(?![\w(])"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*[A-Za-z0-9]|[A-Za-z]")
_CONNECTORS = frozenset({"of", "the", "de", "von", "van", "der", "for", "la", "le", "du"})  # not "and": lists
_MAX_NAME_WORDS = 5
_MAX_GAP_WORDS = 6
_Found = tuple[EntityMention, int, int]  # mention, start, end
_Kind = Literal["name", "term", "code", "word"]


class LocalExtractor:
    """Rule-based extraction; CPU-bound work runs in a thread."""

    name = "local"

    def __init__(self, max_entities_per_chunk: int = 24, min_entity_chars: int = 2) -> None:
        self._max = max_entities_per_chunk
        self._min_chars = min_entity_chars

    async def extract(self, texts: Sequence[str]) -> list[ChunkGraph]:
        return await asyncio.to_thread(self.extract_sync, texts)

    def extract_sync(self, texts: Sequence[str]) -> list[ChunkGraph]:
        return [self.extract_one(text) for text in texts]

    def extract_one(self, text: str) -> ChunkGraph:
        sentences = [_sentence_mentions(s) for s in _SENTENCE.split(text)]
        ranked = self._rank(f[0] for _, found in sentences for f in found)
        keep = {m.key: m for m in ranked}
        relations = _relations(sentences, keep)
        return ChunkGraph(entities=list(keep.values()), relations=relations)

    def _rank(self, mentions: Iterator[EntityMention]) -> list[EntityMention]:
        counts: Counter[str] = Counter()
        first: dict[str, EntityMention] = {}
        for mention in mentions:
            if len(mention.key) < self._min_chars or mention.key in STOPWORDS:
                continue
            counts[mention.key] += 1
            first.setdefault(mention.key, mention)
        for key, mention in list(first.items()):
            if mention.kind == "word":  # type: ignore[comparison-overlap]  # provisional kind
                if counts[key] < 2:
                    del first[key]
                else:
                    first[key] = EntityMention(key, mention.name, "term")
        priority = {"code": 2.0, "name": 2.0, "term": 1.0, "word": 0.5}
        order = sorted(first, key=lambda k: (-(counts[k] * priority[first[k].kind]), k))
        return [first[k] for k in order[: self._max]]


def _sentence_mentions(sentence: str) -> tuple[str, list[_Found]]:
    """Mentions in one sentence with their character spans, in reading order."""
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for match in _CODE.finditer(sentence):
        found.append((_mention(match.group(), "code"), match.start(), match.end()))
        taken.append(match.span())
    for kind, start, end in _word_runs(sentence, taken):
        found.append((_mention(sentence[start:end], kind), start, end))
    return sentence, sorted((f for f in found if f[0].key), key=lambda f: f[1])


def _word_runs(sentence: str, taken: list[tuple[int, int]]) -> Iterator[tuple[_Kind, int, int]]:
    words = [m for m in _WORD.finditer(sentence) if not _inside(m.span(), taken)]
    i = 0
    while i < len(words):
        kind, j = _run_at(words, i, sentence)
        if kind is not None:
            yield kind, words[i].start(), words[j - 1].end()
            i = j
        else:
            i += 1


def _run_at(words: list[re.Match[str]], i: int, sentence: str) -> tuple[_Kind | None, int]:
    word = words[i].group()
    if word[0].isupper():
        j = i + 1
        while j < len(words) and j - i < _MAX_NAME_WORDS and _continues_name(words, j, sentence):
            j += 1
        while j - 1 > i and words[j - 1].group().lower() in _CONNECTORS:
            j -= 1
        if j - i == 1 and word.lower() in STOPWORDS:
            return None, i + 1
        if j - i == 1 and j < len(words) and _content(words[j].group()) and _adjacent(words, j, sentence):
            return _term_run(words, i, i + 1, sentence)
        return "name", j
    return _term_run(words, i, i, sentence)


def _term_run(words: list[re.Match[str]], i: int, j: int, sentence: str) -> tuple[_Kind | None, int]:
    while j < len(words) and j - i < 3 and _content(words[j].group()) and _adjacent(words, j, sentence):
        j += 1
    if j - i >= 2:
        return "term", j
    return ("word", i + 1) if j > i else (None, i + 1)


def _continues_name(words: list[re.Match[str]], j: int, sentence: str) -> bool:
    word = words[j].group()
    gap = sentence[words[j - 1].end() : words[j].start()]
    if gap.strip():
        return False
    return word[0].isupper() or (
        word in _CONNECTORS and j + 1 < len(words) and words[j + 1].group()[0].isupper()
    )


def _adjacent(words: list[re.Match[str]], j: int, sentence: str) -> bool:
    return j == 0 or not sentence[words[j - 1].end() : words[j].start()].strip()


def _content(word: str) -> bool:
    return word.islower() and len(word) >= 3 and word not in STOPWORDS and word not in RELATION_VERBS


def _inside(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] < b for a, b in taken)


def _mention(surface: str, kind: _Kind) -> EntityMention:
    # "word" is a provisional kind: a single content word, kept only when it repeats
    return EntityMention(key=entity_key(surface), name=surface.strip(), kind=kind)  # type: ignore[arg-type]


def _relations(sentences: list[tuple[str, list[_Found]]], keep: dict[str, EntityMention]) -> list[Relation]:
    weights: Counter[tuple[str, str, str]] = Counter()
    for text, found in sentences:
        kept = [f for f in found if f[0].key in keep]
        named: set[frozenset[str]] = set()
        for (a, _, end_a), (b, start_b, _) in pairwise(kept):
            verb = _verb_between(text[end_a:start_b])
            if verb and a.key != b.key:
                weights[(a.key, b.key, verb)] += 1
                named.add(frozenset((a.key, b.key)))
        unique = sorted({f[0].key for f in kept})
        for a_key, b_key in combinations(unique, 2):
            if frozenset((a_key, b_key)) not in named:
                weights[(a_key, b_key, "co_occurs_with")] += 1
    return [Relation(s, t, name, float(w)) for (s, t, name), w in weights.items()]


def _verb_between(gap: str) -> str | None:
    """The relation verb in the few words between two mentions, if there is one."""
    words = gap.lower().split()
    if not words or len(words) > _MAX_GAP_WORDS:
        return None
    for word in words:
        verb = RELATION_VERBS.get(word.strip(",;:()"))
        if verb:
            return verb
    return None
