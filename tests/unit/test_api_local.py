"""The server card (``api.local``): written 0600, trusted only when it is its user's own,
unreadable by others and its process alive; a live server's card is never replaced."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from api import local
from api.local import LocalServer, ServerRunning


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait(timeout=60)
    return done.pid


def _raw_card(path: Path, pid: int, mode: int = 0o600) -> None:
    path.write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": pid, "token": "t"}))
    path.chmod(mode)


def test_a_written_card_is_private_and_reads_back(tmp_path: Path) -> None:
    card = tmp_path / "server.json"
    server = LocalServer("http://127.0.0.1:8765", os.getpid(), "secret")

    local.write(card, server)

    assert stat.S_IMODE(card.stat().st_mode) == 0o600
    assert local.read(card) == server
    assert [p.name for p in tmp_path.iterdir()] == ["server.json"]  # no temporary file left


def test_a_card_of_a_dead_process_is_ignored_and_replaced(tmp_path: Path) -> None:
    card = tmp_path / "server.json"
    _raw_card(card, _dead_pid())

    assert local.read(card) is None
    local.write(card, LocalServer("http://127.0.0.1:1", os.getpid(), "new"))
    assert local.read(card) == LocalServer("http://127.0.0.1:1", os.getpid(), "new")


def test_a_live_servers_card_is_never_replaced(tmp_path: Path) -> None:
    card = tmp_path / "server.json"
    _raw_card(card, os.getppid())  # a live process that is not this one

    with pytest.raises(ServerRunning, match="a server already serves this data directory"):
        local.write(card, LocalServer("http://127.0.0.1:1", os.getpid(), "mine"))
    assert json.loads(card.read_text())["pid"] == os.getppid()


def test_a_card_others_can_read_is_not_trusted(tmp_path: Path) -> None:
    card = tmp_path / "server.json"
    _raw_card(card, os.getpid(), mode=0o644)

    assert local.read(card) is None


def test_a_malformed_card_is_no_server(tmp_path: Path) -> None:
    card = tmp_path / "server.json"
    card.write_text("{not json")
    card.chmod(0o600)

    assert local.read(card) is None
    assert local.read(tmp_path / "missing.json") is None


def test_remove_leaves_another_servers_card(tmp_path: Path) -> None:
    card = tmp_path / "server.json"
    _raw_card(card, os.getppid())

    local.remove(card, os.getpid())
    assert card.exists()
    local.remove(card, os.getppid())
    assert not card.exists()


def test_a_card_whose_server_does_not_answer_is_no_server(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    card = tmp_path / "server.json"
    local.write(card, LocalServer(f"http://127.0.0.1:{port}", os.getpid(), "t"))

    assert local.read(card) is not None
    assert local.find(card) is None


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:80"),
        ("0.0.0.0", "http://127.0.0.1:80"),
        ("::", "http://[::1]:80"),
        ("::1", "http://[::1]:80"),
    ],
)
def test_a_wildcard_address_is_reached_on_loopback(host: str, url: str) -> None:
    assert local.url_of(host, 80) == url
