"""The running server's card: how the ``cognition`` CLI on this host finds it.

``cognition serve`` writes ``<data_dir>/server.json`` = ``{"url", "pid", "token"}`` once it
listens, and removes it when it stops. The token is fresh for each start and opens every
dataset (the CLI's user can read the data directory anyway), so the file is created
``0600`` by ``os.open`` and never replaced while its server lives. A reader trusts only a
file of its own user that nobody else can read, whose process is alive and whose
``/healthz`` answers; anything else means "no server": search in this process.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cognition.errors import CognitionError

HEALTH_TIMEOUT = 1.0  # seconds a server may take to answer /healthz before the CLI goes on alone


@dataclass(frozen=True)
class LocalServer:
    url: str  # e.g. http://127.0.0.1:8765, no trailing slash
    pid: int
    token: str


class ServerRunning(CognitionError):
    """Another live server already serves this data directory."""

    def __init__(self, server: LocalServer) -> None:
        super().__init__(f"a server already serves this data directory at {server.url} (pid {server.pid})")
        self.server = server


def write(path: Path, server: LocalServer) -> None:
    """Write the card atomically, mode 0600: a temporary file made with O_EXCL, linked into
    place (a link never replaces an existing file). A card left by a dead process is
    replaced; a live server's is a ``ServerRunning``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    descriptor = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(server), handle)
        for _ in range(2):
            try:
                os.link(temporary, path)
                return
            except FileExistsError:
                found = read(path)
                if found is not None and found.pid != server.pid:
                    raise ServerRunning(found) from None
                path.unlink(missing_ok=True)  # stale: its process is gone (or it is ours)
        raise CognitionError(f"could not write {path}: another process keeps creating it")
    finally:
        temporary.unlink(missing_ok=True)


def read(path: Path) -> LocalServer | None:
    """The card, if it is trustworthy and its process is alive; else None."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, encoding="utf-8") as handle:
        status = os.fstat(handle.fileno())
        if status.st_uid != os.getuid() or status.st_mode & 0o077:
            return None  # another user's, or readable by others: not ours to trust
        try:
            data = json.load(handle)
            server = LocalServer(str(data["url"]).rstrip("/"), int(data["pid"]), str(data["token"]))
        except (ValueError, KeyError, TypeError):
            return None
    return server if _alive(server.pid) else None


def remove(path: Path, pid: int) -> None:
    """Remove the card if it is the one process ``pid`` wrote (never another server's)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(data, dict) and data.get("pid") == pid:
        path.unlink(missing_ok=True)


def find(path: Path, timeout: float = HEALTH_TIMEOUT) -> LocalServer | None:
    """The server on the card, if it answers ``GET /healthz`` within ``timeout`` seconds."""
    server = read(path)
    if server is None:
        return None
    import httpx

    try:
        answer = httpx.get(f"{server.url}/healthz", timeout=timeout)
    except httpx.HTTPError:
        return None
    return server if answer.status_code == 200 else None


def url_of(host: str, port: int) -> str:
    """The URL a client on this host uses for a server bound to ``host``: a wildcard
    address is reached on loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's: /healthz and the token decide
    return True
