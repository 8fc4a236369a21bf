"""The logs of every entry point: one handler on stderr, text or JSON lines, the level from
settings, the request or job a line belongs to, and no secret.

``configure(settings)`` is called once by each entry point (the CLI, a worker, the server,
the MCP server). Our loggers (``OURS``) get the handler themselves and do not propagate:
cognee replaces the root logger's handlers when it is first imported, at ERROR (a CLI's
warnings were dropped), possibly while an import already runs. The root logger gets the
same handler for everyone else's lines, again after cognee's import (``reapply``).

``log_context(job_id=…)`` tags every line logged inside it (a contextvar: an asyncio task
and the threads it starts with ``to_thread`` see it, other tasks do not). Every line passes
through ``redact``: the secrets the settings hold and anything shaped like a credential (an
API key of ours or Google's, a password in a URL, a bearer token) are masked, whatever
logger wrote them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from pydantic import SecretStr

from cognition.settings import Settings

OURS = ("cognition", "ingest", "workers", "api", "cli", "bench", "arq", "uvicorn")  # at the setting's level
_context: ContextVar[dict[str, str]] = ContextVar("cognition_log_context", default={})  # noqa: B039 (never mutated)
_SHAPES = (
    (re.compile(r"\bcog_[A-Za-z0-9_\-]{8,}"), "cog_***"),  # our API keys
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), "AIza***"),  # Google API keys
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/\-]+=*"), r"\1 ***"),
    (re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1***@"),  # scheme://user:pw@
    (re.compile(r"(?i)([?&](?:key|api_key|token|password)=)[^&\s]+"), r"\1***"),
)
MASK = "***"


class _State:
    settings: Settings | None = None
    stream: TextIO | None = None
    secrets: tuple[str, ...] = ()


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Tag every line logged inside the block with ``fields`` (request_id, job_id, dataset)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def tag(**fields: str) -> None:
    """Tag the rest of the current task's lines (a job's task: it ends with the job)."""
    _context.set({**_context.get(), **fields})


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    for secret in _State.secrets if secrets is None else secrets:
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every secret value the settings hold (at least 6 characters: shorter ones would mask
    ordinary words)."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            if len(secret) >= 6:
                found.append(secret)
        elif hasattr(value, "model_fields"):
            for name in type(value).model_fields:
                walk(getattr(value, name))

    walk(settings)
    return tuple(sorted(set(found), key=len, reverse=True))


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        tags = " ".join(f"{k}={v}" for k, v in _context_of(record).items())
        where = f"{record.name} [{tags}]" if tags else record.name
        line = f"{self.formatTime(record)} {record.levelname} {where}: "
        line += record.getMessage()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **_context_of(record),
        }
        if record.exc_info:
            body["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False, default=str)


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    fields: dict[str, str] = getattr(record, "cognition_context", {})
    return fields


class _Tagger(logging.Filter):
    """Copies the context onto the record where it is made (the handler may run later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "cognition_context"):
            record.cognition_context = dict(_context.get())
        return True


def configure(settings: Settings, stream: TextIO | None = None) -> None:
    """One handler on the root logger, in the settings' format; our loggers at the
    settings' level, everyone else's at WARNING or above (cognee and its libraries are
    chatty at INFO)."""
    _State.settings, _State.stream, _State.secrets = settings, stream, secrets_of(settings)
    _install()


def reapply() -> None:
    """Undo what a library did to the root logger since ``configure`` (cognee's import)."""
    if _State.settings is not None:
        _install()


def _install() -> None:
    settings = _State.settings
    assert settings is not None
    handler = logging.StreamHandler(_State.stream or sys.stderr)
    handler.setFormatter(_Json() if settings.log_format == "json" else _Text())
    handler.addFilter(_Tagger())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level)
    root.setLevel(max(level, logging.WARNING))
    for name in OURS:  # their own handler: what a library does to the root cannot drop them
        ours = logging.getLogger(name)
        ours.setLevel(level)
        for old in list(ours.handlers):
            ours.removeHandler(old)
        ours.addHandler(handler)
        ours.propagate = False
