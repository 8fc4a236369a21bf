"""HTML to a page: title, clean markdown (crawl4ai) and the links to follow (lxml).

crawl4ai creates folders under ``$CRAWL4_AI_BASE_DIRECTORY`` (default: HOME) when it is
imported, so ``load_crawl4ai`` points that variable into the data directory first; nothing
else here imports crawl4ai. Only its scraping and markdown strategies are used: they are
pure functions of the HTML (no browser, no network).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from ingest.web.urls import normalize

_CONTENT = ("article", "main", "[role=main]")  # the page's own text, without site navigation
_DROP_TAGS = ["nav", "header", "footer", "script", "style", "noscript", "form"]
_DROP_SELECTOR = ".headerlink"  # the "¶" anchors documentation generators add to headings
_MARKDOWN_OPTIONS = {"ignore_links": True, "ignore_images": True, "body_width": 0}


@dataclass(frozen=True)
class ConvertedPage:
    title: str
    markdown: str
    links: list[str]  # absolute, normalised, in page order, no repeats


def load_crawl4ai(directory: Path) -> None:
    """Import crawl4ai with its folders inside ``directory`` (call before any other import)."""
    if "crawl4ai" not in sys.modules:
        os.environ["CRAWL4_AI_BASE_DIRECTORY"] = str(directory)
        import crawl4ai.content_scraping_strategy  # noqa: F401


def convert(html: str, url: str) -> ConvertedPage:
    """Turn one HTML page at ``url`` into a title, markdown and outgoing links (CPU-bound)."""
    from crawl4ai.content_scraping_strategy import LXMLWebScrapingStrategy
    from crawl4ai.markdown_generation_strategy import DefaultMarkdownGenerator

    try:
        doc = lxml.html.document_fromstring(html)
    except lxml.etree.ParserError:  # nothing but whitespace or comments
        return ConvertedPage(url, "", [])
    options: dict[str, Any] = {"excluded_tags": _DROP_TAGS, "excluded_selector": _DROP_SELECTOR}
    target = next((s for s in _CONTENT if doc.cssselect(s)), None)
    if target is not None:
        options["target_elements"] = [target]
    scraped = LXMLWebScrapingStrategy().scrap(url, html, **options)
    generator = DefaultMarkdownGenerator(options=_MARKDOWN_OPTIONS)
    markdown = generator.generate_markdown(scraped.cleaned_html, base_url=url, citations=False)
    text = markdown.raw_markdown.strip()
    title = str(scraped.metadata.get("title") or "").strip() or _first_heading(doc) or url
    return ConvertedPage(title, text, links(doc, url))


def links(doc: lxml.html.HtmlElement, url: str) -> list[str]:
    """Targets of the page's ``<a href>`` links, resolved against its ``<base>`` or URL."""
    base_tags = doc.xpath("//base[@href]")
    base = urljoin(url, base_tags[0].get("href")) if base_tags else url
    found: dict[str, None] = {}
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href and not href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            found.setdefault(normalize(urljoin(base, href)), None)
    return list(found)


def _first_heading(doc: lxml.html.HtmlElement) -> str:
    heading = doc.xpath("//h1")
    return str(heading[0].text_content()).strip() if heading else ""
