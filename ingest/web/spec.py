"""What a crawl is asked to do (kept light: entry points import it without the crawler)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CrawlSpec:
    """What to crawl. Limits left None take the settings' defaults."""

    seeds: tuple[str, ...]
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_depth: int | None = None
    max_pages: int | None = None
    same_site: bool = True
