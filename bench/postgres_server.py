"""A throwaway Postgres cluster for tests: ``initdb`` into a temporary directory, ``postgres``
on a free port of 127.0.0.1 only (its unix socket in that directory), a password made for
this run (no default credentials), stopped and removed at ``stop`` or at exit.

Postgres refuses to run as root, and CI runs as root: then the cluster belongs to an
unprivileged system user (``postgres``, which Debian's package creates, else ``nobody``) and
its processes run as that user. Debian does not put the server's binaries on ``PATH``; they
are looked for there first, then under ``/usr/lib/postgresql/*/bin``.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from bench.redis_server import free_port

_SHARED_TMP = "/tmp" if os.path.isdir("/tmp") else None
USER = "cognition"  # the cluster's superuser (a password is required, locally too)


def find_binary(name: str) -> str:
    """``initdb`` or ``postgres``: on PATH, else Debian's newest under /usr/lib/postgresql."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major, reverse=True)
    if not candidates:
        raise RuntimeError(f"{name} is not installed (apt-get install -y postgresql)")
    return candidates[0]


def _major(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _run_as() -> pwd.struct_passwd | None:
    """Who runs the cluster: this process, unless it is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run Postgres as")


class PostgresServer:
    """Start and stop one cluster; ``url(database)`` names a database in it."""

    def __init__(self) -> None:
        self.initdb, self.postgres = find_binary("initdb"), find_binary("postgres")
        self.user = _run_as()
        self.password = secrets.token_urlsafe(24)
        self.port = free_port()
        # Under /tmp, not this process's temporary directory: cognee points that into a data
        # directory (TMPDIR), whose private parents the cluster's own user could not enter.
        self.directory = Path(tempfile.mkdtemp(prefix="cognition-postgres-", dir=_SHARED_TMP))
        self.process: subprocess.Popen[bytes] | None = None
        atexit.register(self.stop)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if self.user is not None:  # the cluster's directory belongs to the user running it
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        password_file = self.directory / "password"
        password_file.write_text(self.password)
        self._own(password_file)
        self._run(
            [
                self.initdb,
                "--pgdata",
                str(self.directory / "data"),
                "--username",
                USER,
                "--pwfile",
                str(password_file),
                "--auth",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ]
        )
        password_file.unlink()
        log = (self.directory / "postgres.log").open("wb")
        self.process = subprocess.Popen(
            [
                self.postgres,
                "-D",
                str(self.directory / "data"),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.directory}",
                "-c",
                "fsync=off",  # a test cluster: nothing in it outlives the run
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            user=self.user.pw_uid if self.user else None,
            group=self.user.pw_gid if self.user else None,
            extra_groups=[] if self.user else None,
        )
        log.close()  # the server has its own copy
        self._wait_ready()

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """A fast shutdown (open sessions are ended), then the directory goes."""
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
            self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                assert self.process is not None
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "postgres.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"postgres did not start on port {self.port}:\n{log}") from None
                time.sleep(0.1)

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(
            command,
            capture_output=True,
            user=self.user.pw_uid if self.user else None,
            group=self.user.pw_gid if self.user else None,
            extra_groups=[] if self.user else None,
            cwd=self.directory,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed: {done.stderr.decode(errors='replace')[-2000:]}"
            )

    def _own(self, path: Path) -> None:
        path.chmod(0o600)
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)
