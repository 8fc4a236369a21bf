"""URL normalisation and scope: which links a crawl follows."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize(url: str) -> str:
    """One spelling per resource: no fragment, no user info, lower-case scheme and host, no
    default port, ``/`` for an empty path. Query strings are kept as they are."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a normalised URL (a site, for same-site and politeness)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def in_scope(
    url: str, sites: Sequence[str], include: Sequence[str], exclude: Sequence[str], same_site: bool
) -> bool:
    """Whether a discovered link is followed: on a seed's site (unless ``same_site`` is off),
    matching an include glob if there are any, and no exclude glob."""
    if urlsplit(url).scheme not in _DEFAULT_PORTS:
        return False
    if same_site and origin(url) not in sites:
        return False
    if include and not any(fnmatchcase(url, pattern) for pattern in include):
        return False
    return not any(fnmatchcase(url, pattern) for pattern in exclude)
