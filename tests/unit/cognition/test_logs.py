"""The process's logging: one handler, the settings' format and level, the request or job a
line belongs to, and no secret in any line whatever logger wrote it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from cognition import logs
from cognition.settings import Settings

GEMINI_KEY = "AIzaSyA-not-a-real-key-0123456789abcdef"
REDIS_PASSWORD = "hunter2-redis-secret"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A stream the logs go to; pytest's own handlers and levels are put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logs.OURS}
    out = io.StringIO()
    try:
        yield out
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, value in levels.items():
            ours = logging.getLogger(name)
            ours.setLevel(value)
            for handler in list(ours.handlers):
                ours.removeHandler(handler)
            ours.propagate = True
        logs._State.settings = None


def _settings(**values: object) -> Settings:
    return Settings(
        gemini={"api_key": GEMINI_KEY},
        queue={"redis_url": f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0"},
        **values,  # type: ignore[arg-type]
    )


def test_json_lines_carry_the_job_and_mask_every_secret(stream: io.StringIO) -> None:
    logs.configure(_settings(log_format="json", log_level="INFO"), stream)
    with logs.log_context(job_id="ingest:books:abc", dataset="books"):
        logging.getLogger("cognition.test").info("calling with %s", GEMINI_KEY)
        logging.getLogger("somelib").warning(
            "connect redis://:%s@10.0.0.5/0 with Authorization: Bearer abc.DEF-123 key cog_abcdefghijklmnop",
            REDIS_PASSWORD,
        )
    logging.getLogger("cognition.test").info("outside any job")
    logging.getLogger("somelib").info("a library's chatter")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["logger"], r["level"]) for r in lines] == [
        ("cognition.test", "INFO"),
        ("somelib", "WARNING"),
        ("cognition.test", "INFO"),
    ]
    assert lines[0]["job_id"] == lines[1]["job_id"] == "ingest:books:abc" and "job_id" not in lines[2]
    text = stream.getvalue()
    for secret in (GEMINI_KEY, REDIS_PASSWORD, "abc.DEF-123", "cog_abcdefghijklmnop"):
        assert secret not in text
    assert lines[1]["message"] == (
        "connect redis://:***@10.0.0.5/0 with Authorization: Bearer *** key cog_***"
    )


def test_text_lines_name_the_request_and_the_level_comes_from_settings(stream: io.StringIO) -> None:
    logs.configure(_settings(log_level="WARNING"), stream)
    with logs.log_context(request_id="r-42"):
        logging.getLogger("api.requests").info("GET /v1/datasets 200")  # below WARNING: not shown
        logging.getLogger("api.requests").warning("slow answer")

    [line] = stream.getvalue().splitlines()
    assert line.endswith(" WARNING api.requests [request_id=r-42]: slow answer")


def test_a_librarys_takeover_of_the_root_logger_drops_none_of_our_lines(stream: io.StringIO) -> None:
    logs.configure(_settings(log_format="json"), stream)
    stray = io.StringIO()
    root = logging.getLogger()
    for handler in list(root.handlers):  # what cognee's import does, maybe mid-import
        root.removeHandler(handler)
    root.addHandler(logging.StreamHandler(stray))
    root.setLevel(logging.ERROR)
    logging.getLogger("cognition.extract.gemini").warning("chunk 3 of 9 keeps no entities")
    logs.reapply()
    logging.getLogger("somelib").warning("a library's warning")

    assert stray.getvalue() == ""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["message"] for r in lines] == ["chunk 3 of 9 keeps no entities", "a library's warning"]


def test_short_secrets_are_not_masked_everywhere() -> None:
    """A secret under six characters would mask ordinary words in every line."""
    found = logs.secrets_of(Settings(gemini={"api_key": "abc"}))  # type: ignore[arg-type]
    assert "abc" not in found
