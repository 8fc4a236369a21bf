"""Paths as text that can be stored and printed.

A file name on Linux is bytes; Python turns bytes that are not UTF-8 into lone surrogates
(``\\udcff``), which SQLite, JSON on a UTF-8 terminal and the graph store all refuse. Such a
file fails alone, recorded under its name with the bad bytes shown as ``\\xff``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cognition.errors import SourceUnreadable


def display_path(path: Path | str) -> str:
    """``path`` as valid UTF-8 text: bytes of the name that are not UTF-8 are shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def source_of(path: Path) -> str:
    """The ledger's name for a file: its absolute path if it exists, else the path given."""
    return display_path(path.resolve() if path.exists() else path)


def require_utf8_name(path: Path) -> None:
    """Refuse a path whose name is not UTF-8: it could be read, but not recorded or shown."""
    if display_path(path) != str(path):
        raise SourceUnreadable(f"{source_of(path)}: the file name is not UTF-8 (rename the file)")
