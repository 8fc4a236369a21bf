"""Entity name normalization: ``Git``/``git`` and plural/singular forms meet on one key."""

from __future__ import annotations

import re

_EDGE_PUNCT = re.compile(r"^[\"'`(\[{<]+|[\"'`)\]}>.,;:!?]+$")
_POSSESSIVE = re.compile(r"['’]s$")
_SPACE = re.compile(r"\s+")
_KEEP_S = ("ss", "us", "is", "os", "as", "ys")


def singular(word: str) -> str:
    """A cheap English singular for a lowercase word; leaves short and odd words alone."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


def entity_key(surface: str) -> str:
    """The identity of an entity: lowercase, trimmed, possessive dropped, last word singular."""
    text = _SPACE.sub(" ", surface.strip())
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    text = _EDGE_PUNCT.sub("", text.lstrip("$").removesuffix("()"))
    text = _POSSESSIVE.sub("", text).lower()
    words = text.split(" ")
    words[-1] = singular(words[-1])
    return " ".join(w for w in words if w)
