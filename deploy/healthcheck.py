"""The containers' healthchecks (docker-compose.yml runs ``python healthcheck.py api|worker``).

``api``: ``GET /readyz`` answers 200 (the store open, the ledger writable, Redis reachable).
``worker``: the worker's Redis answers a PING with the worker's own settings. A worker has no
HTTP port; its process is the container's main process, so a dead worker is a stopped
container, and what this adds is "it can reach its queue". Exit 0 healthy, 1 not, with one
line on stderr saying why (never a URL: it holds the password).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

# Under the compose healthcheck's own 10 s: the first /readyz after a start opened the stores
# in 5.1 s (a `cognition serve` with an empty data directory, measured on 2 cores).
TIMEOUT = 8.0


def api() -> str | None:
    from cognition.settings import get_settings

    url = f"http://127.0.0.1:{get_settings().api.port}/readyz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
            return None if answer.status == 200 else f"/readyz answered {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"/readyz answered {exc.code}: {exc.read(500).decode(errors='replace')}"
    except OSError as exc:
        return f"/readyz did not answer: {type(exc).__name__}"


def worker() -> str | None:
    import redis

    from cognition.settings import get_settings

    client = redis.Redis.from_url(get_settings().queue.url, socket_timeout=TIMEOUT)
    try:
        return None if client.ping() else "Redis did not answer PING"
    except redis.RedisError as exc:
        return f"Redis is not reachable: {type(exc).__name__}"
    finally:
        client.close()


def main(argv: list[str]) -> int:
    from cognition.errors import CognitionError

    checks = {"api": api, "worker": worker}
    if len(argv) != 1 or argv[0] not in checks:
        print("usage: healthcheck.py api|worker", file=sys.stderr)
        return 2
    try:
        problem = checks[argv[0]]()
    except CognitionError as exc:  # a bad or missing setting: its one-line message
        problem = str(exc)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
