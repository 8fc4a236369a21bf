"""Errors shown to a user (``/readyz``, the CLI) quote no secret: a URL's password, or a
plain password such as the graph server's."""

from __future__ import annotations

from pydantic import SecretStr

from cognition.postgres_db import clean


def test_a_urls_password_is_removed_as_written_and_decoded() -> None:
    url = SecretStr("postgresql://app:p%40ss-w0rd@db:5432/cognition")
    text = clean(OSError("connect to app:p%40ss-w0rd@db failed (password p@ss-w0rd)"), url)
    assert "p%40ss-w0rd" not in text and "p@ss-w0rd" not in text and text.count("***") == 2


def test_a_plain_password_is_removed_and_only_the_first_line_is_kept() -> None:
    error = RuntimeError("auth failed for neo4j/Hunter-22-secret\n  at a stack line Hunter-22-secret")
    assert clean(error, None, SecretStr("Hunter-22-secret")) == "auth failed for neo4j/***"


def test_a_url_without_a_password_removes_nothing() -> None:
    assert clean(OSError("redis at host:6379 refused"), SecretStr("redis://host:6379/0")) == (
        "redis at host:6379 refused"
    )
