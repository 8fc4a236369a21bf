"""Duplicate-entity candidates: keys one edit apart, or one the acronym of the other.

Two spellings of one name get one key by construction (case, plural, possessive), so what
is left to find are typos and variants ("configuraton"), and acronyms beside their
expansion ("api" / "application programming interface"). Keys are compared with their
neighbours in sorted order and in sorted order of the reversed key (an edit near the end,
then near the start, keeps the pair close): O(n log n), a bounded neighbourhood, no
all-pairs comparison. Pairs that differ in a digit ("sha-1" / "sha-2") are distinct names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

WINDOW = 8  # neighbours compared on each side of the sorted orders


@dataclass(frozen=True, order=True)
class Pair:
    first: str  # keys, in order
    second: str
    first_id: str
    second_id: str
    reason: str  # "edit" | "acronym"

    def label(self) -> str:
        return f"{self.first} ~ {self.second}"


def candidates(keys: Iterable[tuple[str, str]], min_chars: int) -> list[Pair]:
    """Candidate pairs among (entity id, key), each once, in order."""
    entries = [(key, eid) for eid, key in keys if key]
    found: dict[tuple[str, str], Pair] = {}
    for ordered in (sorted(entries), sorted(entries, key=lambda e: e[0][::-1])):
        for i, (a, a_id) in enumerate(ordered):
            for b, b_id in ordered[i + 1 : i + 1 + WINDOW]:
                if min(len(a), len(b)) >= min_chars and one_edit(a, b):
                    _add(found, a, a_id, b, b_id, "edit")
    short = {key: eid for key, eid in entries if 2 <= len(key) <= 8 and key.isalpha()}
    for key, eid in entries:
        words = key.split()
        if len(words) >= 2 and all(w[:1].isalpha() for w in words):
            initials = "".join(w[0] for w in words)
            if initials in short:
                _add(found, initials, short[initials], key, eid, "acronym")
    return sorted(found.values())


def _add(found: dict[tuple[str, str], Pair], a: str, a_id: str, b: str, b_id: str, reason: str) -> None:
    (a, a_id), (b, b_id) = sorted([(a, a_id), (b, b_id)])
    found.setdefault((a, b), Pair(a, b, a_id, b_id, reason))


def one_edit(a: str, b: str) -> bool:
    """True if ``b`` is ``a`` with one character substituted, inserted or deleted, and
    the character is not a digit."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    start = 0
    while start < len(a) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        same = a[start + 1 :] == b[start + 1 :]
        return same and not (a[start].isdigit() or b[start].isdigit())
    return a[start:] == b[start + 1 :] and not b[start].isdigit()
