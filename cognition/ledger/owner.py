"""Who works on a document: ``host:pid`` of the process, and whether it still runs.

A process on this host is alive while its pid exists. A process on another host cannot be
checked from here: its claim is trusted while the row keeps changing (every stored batch
updates it), and taken over once it has been still for ``STALE_SECONDS``.
"""

from __future__ import annotations

import os
import socket
import time

from cognition.ledger.port import DocumentRecord

STALE_SECONDS = 600.0


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(record: DocumentRecord, now: float | None = None) -> bool:
    """Whether the process named by ``record.owner`` may still be working on it."""
    if not record.owner:
        return False
    host, _, pid = record.owner.rpartition(":")
    if host != socket.gethostname():
        return (now or time.time()) - record.updated_at < STALE_SECONDS
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
