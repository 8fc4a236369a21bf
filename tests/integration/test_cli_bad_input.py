"""Inputs that tried to break ``cognition import``: each is refused or recorded on its own,
the command says so in one line and its exit status tells a script what happened."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import termios
import time
from pathlib import Path

import pytest

from bench.redis_server import RedisServer
from tests.helpers import (
    BAD,
    CLI_TIMEOUT,
    GIT_INTERNALS,
    REPO_ROOT,
    CliRunner,
    cli_command,
    last_json_line,
    subprocess_env,
    write_excerpt,
)


def _bytes_named(folder: Path, name: bytes, content: bytes) -> str:
    """Write a file whose name is raw bytes (not necessarily UTF-8); its name as Python sees it."""
    descriptor = os.open(os.fsencode(folder) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, content)
    finally:
        os.close(descriptor)
    return os.fsdecode(os.fsencode(folder) + b"/" + name)


@pytest.fixture(scope="module")
def bad_name_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two real PDFs; the second one's name is not UTF-8."""
    folder = tmp_path_factory.mktemp("bad-name")
    write_excerpt(GIT_INTERNALS, [13], folder / "a_good.pdf", "Git objects")
    other = write_excerpt(GIT_INTERNALS, [14], folder / "other.pdf", "Git trees")
    _bytes_named(folder, b"z_bad\xff.pdf", other.read_bytes())
    other.unlink()
    return folder


def test_a_file_name_that_is_not_utf8_fails_alone(
    bad_name_folder: Path, run_cli: CliRunner, tmp_path: Path
) -> None:
    bad = str(bad_name_folder / "z_bad") + "\\xff.pdf"  # how the name is shown

    done = run_cli("import", str(bad_name_folder), "-d", "x", "--json", data_dir=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    summary = last_json_line(done.stdout)
    assert (summary["added"], summary["needs_ocr"]) == (1, [])
    assert summary["failed"] == [
        {"path": bad, "reason": f"unreadable path: {bad}: the file name is not UTF-8 (rename the file)"}
    ]
    overview = run_cli("datasets", "--json", data_dir=tmp_path)
    assert json.loads(overview.stdout) == {"x": {"stored": 1, "failed": 1}}

    again = run_cli("import", str(bad_name_folder), "-d", "x", data_dir=tmp_path)  # for people

    assert again.stdout.splitlines()[0].startswith("dataset x: added 0, skipped 1, replaced 0")
    assert f"  failed: {bad}: unreadable path: {bad}: the file name is not UTF-8 (rename the file)" in (
        again.stdout.splitlines()
    )


def test_a_file_name_that_is_not_utf8_is_rejected_alone_by_the_queue(
    bad_name_folder: Path, redis_server: RedisServer, tmp_path: Path
) -> None:
    bad = str(bad_name_folder / "z_bad") + "\\xff.pdf"
    env = subprocess_env(
        tmp_path,
        COGNITION_QUEUE__REDIS_URL=redis_server.url,
        COGNITION_QUEUE__NAME="test:bad-name",
        COGNITION_QUEUE__IMPORT_ROOTS=str(bad_name_folder),  # the good file may be queued
    )

    done = subprocess.run(
        cli_command("import", str(bad_name_folder), "-d", "x", "--queue", "--no-follow", "--json"),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )

    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    answer = last_json_line(done.stdout)
    assert answer["accepted"] == 1
    assert answer["rejected"] == [
        {
            "status": "rejected",
            "dataset": "x",
            "source": bad,
            "reason": f"unreadable path: {bad}: the file name is not UTF-8 (rename the file)",
        }
    ]


def test_a_manifest_naming_a_file_outside_its_folder_is_refused(run_cli: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    manifest = folder / "lib.toml"
    escape = "../../../../../../../../../../etc/hostname"
    manifest.write_text(f'name = "lib"\n[[sources]]\nkind = "text"\npaths = ["{escape}"]\n')

    done = run_cli("import", str(manifest), "--json", data_dir=tmp_path / "data")

    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.splitlines() == [
        f"error: manifest {manifest}: {escape!r} names /etc/hostname, outside the manifest's folder "
        f"{folder} (set allow_outside = true in the manifest to allow it)"
    ]
    assert done.stdout == ""


# --------------------------------------------------------------------------- exit status


def test_an_import_where_every_document_failed_exits_1(run_cli: CliRunner, tmp_path: Path) -> None:
    notes = tmp_path / "notes.pdf"
    notes.write_text("meeting notes, not a PDF\n")
    missing = tmp_path / "missing.pdf"

    done = run_cli("import", str(notes), str(missing), "-d", "x", "--json", data_dir=tmp_path / "data")

    assert done.returncode == 1, done.stderr[-3000:]
    summary = last_json_line(done.stdout)
    assert (summary["added"], summary["skipped"], summary["replaced"]) == (0, 0, 0)
    assert sorted(f["path"] for f in summary["failed"]) == [str(missing), str(notes)]


def test_an_import_of_a_missing_path_exits_1_and_says_why(run_cli: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.pdf"

    done = run_cli("import", str(missing), "-d", "x", data_dir=tmp_path / "data")

    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stdout.splitlines()[1:] == [
        f"  failed: {missing}: unreadable path: {missing} does not exist or is not a file"
    ]


def test_an_import_that_stored_something_and_failed_something_exits_0(
    bad_name_folder: Path, run_cli: CliRunner, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.pdf"

    done = run_cli("import", str(bad_name_folder / "a_good.pdf"), str(missing), "-d", "x", data_dir=tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("dataset x: added 1, skipped 0, replaced 0")


def test_a_crawl_refused_by_the_ssrf_guard_exits_1(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("crawl", "http://127.0.0.1:9/", "-d", "x", "--json", data_dir=tmp_path)

    assert done.returncode == 1, done.stderr[-3000:]
    assert last_json_line(done.stdout)["failed"] == [
        {
            "path": "http://127.0.0.1:9/",
            "reason": "blocked: 127.0.0.1 is a loopback address "
            "(allow it with COGNITION_CRAWL__ALLOW_NETWORKS)",
        }
    ]


def test_a_queued_import_where_every_file_was_rejected_exits_1(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.pdf"
    env = subprocess_env(
        tmp_path, COGNITION_QUEUE__REDIS_URL=redis_server.url, COGNITION_QUEUE__NAME="test:rejected"
    )

    done = subprocess.run(
        cli_command("import", str(missing), "-d", "x", "--queue", "--no-follow", "--json"),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )

    assert done.returncode == 1, done.stderr[-3000:]
    assert [r["source"] for r in last_json_line(done.stdout)["rejected"]] == [str(missing)]


# --------------------------------------------------------------------------- configuration


def run_with(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI with extra COGNITION_ variables."""
    return subprocess.run(
        cli_command(*args),
        cwd=REPO_ROOT,
        env=subprocess_env(tmp_path / "data", **env),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("COGNITION_CRAWL__ALLOW_NETWORKS", "not-a-net", "'not-a-net' is not a network (CIDR)"),
        (
            "COGNITION_CRAWL__ALLOW_NETWORKS",
            "127.0.0.1/32,10.0.0.300/8",
            "'10.0.0.300/8' is not a network (CIDR)",
        ),
        ("COGNITION_IMPORTS__CONCURRENCY", "0", "Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    missing = tmp_path / "missing.pdf"

    done = run_with(tmp_path, "import", str(missing), "-d", "x", **{variable: value})

    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.splitlines() == [f"error: {variable}: {message}"]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ('base_dir = "/etc"', "base_dir: unknown key"),
        ("bogus = 1", "bogus: unknown key"),
        ('[[sources]]\nkind = "pdf"\npath = ["a.pdf"]', "sources.0.path: unknown key"),
    ],
)
def test_a_manifest_with_an_unknown_or_internal_key_is_refused(
    tmp_path: Path, key: str, problem: str
) -> None:
    manifest = tmp_path / "lib.toml"
    manifest.write_text(f'name = "lib"\n{key}\n')

    done = run_with(tmp_path, "import", str(manifest))

    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.splitlines() == [f"error: manifest {manifest} is invalid: {problem}"]


# --------------------------------------------------------------------------- files outside the data dir


def test_an_import_writes_nothing_in_home(run_cli: CliRunner, tmp_path: Path) -> None:
    home, data_dir = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    note = tmp_path / "note.md"
    note.write_text("# Packfiles\n\nGit stores objects in packfiles to save space on disk.\n")

    done = run_cli("import", str(note), "-d", "notes", "--json", data_dir=data_dir, home=home)

    assert done.returncode == 0, done.stderr[-3000:]
    assert last_json_line(done.stdout)["added"] == 1
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []


# --------------------------------------------------------------------------- PDF passwords

ENCRYPTED = BAD / "pypdf_libreoffice-writer-password.pdf"  # user password "openpassword"


def test_an_encrypted_pdf_imports_with_the_password_from_the_environment(tmp_path: Path) -> None:
    done = run_with(
        tmp_path, "import", str(ENCRYPTED), "-d", "secret", "--json", COGNITION_PDF_PASSWORD="openpassword"
    )

    assert done.returncode == 0, done.stderr[-3000:]
    summary = last_json_line(done.stdout)
    assert (summary["added"], summary["failed"], summary["pages"]) == (1, [], 1)


def test_a_wrong_password_from_the_environment_fails_the_pdf_saying_so(tmp_path: Path) -> None:
    done = run_with(
        tmp_path, "import", str(ENCRYPTED), "-d", "secret", "--json", COGNITION_PDF_PASSWORD="nope"
    )

    assert done.returncode == 1, done.stderr[-3000:]
    assert last_json_line(done.stdout)["failed"] == [
        {
            "path": str(ENCRYPTED),
            "reason": f"encrypted: supply a password: {ENCRYPTED.name}: the password given is wrong",
        }
    ]


def test_password_prompt_reads_the_password_from_stdin_when_it_is_not_a_terminal(tmp_path: Path) -> None:
    done = subprocess.run(
        cli_command("import", str(ENCRYPTED), "-d", "secret", "--password-prompt", "--json"),
        cwd=REPO_ROOT,
        env=subprocess_env(tmp_path / "data"),
        input="openpassword\n",
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert last_json_line(done.stdout)["added"] == 1
    assert "openpassword" not in done.stdout + done.stderr


def test_password_prompt_asks_on_the_terminal_without_echo(tmp_path: Path) -> None:
    """The CLI in a pseudo-terminal of its own (its controlling terminal), as a person runs it."""
    command = cli_command("import", str(ENCRYPTED), "-d", "secret", "--password-prompt", "--json")
    pid, terminal = pty.fork()
    if pid == 0:  # the child: become the CLI (never go on running the tests)
        try:
            os.chdir(REPO_ROOT)
            os.execve(command[0], command, subprocess_env(tmp_path / "data"))
        finally:
            os._exit(127)
    status = None
    try:
        seen = _read_until(terminal, b"assword")
        _wait_for_no_echo(terminal)  # the prompt flushes what was typed before it turned echo off
        os.write(terminal, b"openpassword\n")
        seen += _read_until(terminal, b"}")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)
        if status is None:  # it did not finish: do not leave it waiting on its terminal
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0, seen.decode(errors="replace")[-3000:]
    assert b"openpassword" not in seen  # not echoed
    assert b'"added": 1' in seen


def _read_until(terminal: int, marker: bytes) -> bytes:
    """What the CLI writes to its terminal, up to ``marker`` (or its end, or CLI_TIMEOUT)."""
    seen = b""
    while marker not in seen and select.select([terminal], [], [], CLI_TIMEOUT)[0]:
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _wait_for_no_echo(terminal: int) -> None:
    """Until the terminal's echo is off: the hidden prompt is then reading."""
    deadline = time.monotonic() + CLI_TIMEOUT
    while termios.tcgetattr(terminal)[3] & termios.ECHO and time.monotonic() < deadline:
        time.sleep(0.01)
