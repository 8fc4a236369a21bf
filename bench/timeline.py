"""Where an import leaves the cores idle: one CLI import of the shared books, with the
machine's CPU use and every document's ledger state sampled once a second.

    python -m bench.timeline [--books DIR] [--json]

Prints one line per second (seconds, CPU use of the machine in percent of one core, each
document's state and chunks stored), then a summary: wall seconds, core-seconds busy and
idle, and the seconds the machine ran below 90 % of its cores. The machine is assumed
otherwise idle: its CPU use counts every process.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from bench.ingest import DEFAULT_BOOKS, import_command

SAMPLE_SECONDS = 1.0
MAX_SECONDS = 3600  # a bound on the loop; the import of the shared books takes minutes


def _cpu_ticks() -> tuple[int, int]:
    """All ticks and idle ticks of the machine so far (``/proc/stat``)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return sum(values), values[3] + values[4]


def _states(ledger: Path) -> str:
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=0.2) as db:
            rows = db.execute("SELECT source, state, chunks FROM documents ORDER BY source").fetchall()
    except sqlite3.Error:
        return ""
    return " ".join(f"{Path(source).stem[:12]}:{state}:{chunks}" for source, state, chunks in rows)


def run(books: list[Path], data_dir: Path, echo: bool) -> dict[str, object]:
    cores = os.cpu_count() or 1
    command, env = import_command(books, data_dir)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    started, previous, samples = time.perf_counter(), _cpu_ticks(), []
    while process.poll() is None and time.perf_counter() - started < MAX_SECONDS:
        time.sleep(SAMPLE_SECONDS)
        current = _cpu_ticks()
        total, idle = current[0] - previous[0], current[1] - previous[1]
        previous = current
        busy = 100.0 * cores * (total - idle) / total if total else 0.0
        samples.append((time.perf_counter() - started, busy, _states(data_dir / "ledger.sqlite3")))
        if echo:
            print(f"{samples[-1][0]:6.1f} {busy:4.0f}% {samples[-1][2]}", flush=True)
    if process.poll() is None:
        process.kill()
    output, _ = process.communicate()
    wall = time.perf_counter() - started
    busy_core_seconds = sum(s[1] for s in samples) / 100.0 * SAMPLE_SECONDS
    return {
        "summary": json.loads(output.strip().splitlines()[-1]) if output.strip() else None,
        "wall_seconds": round(wall, 1),
        "cores": cores,
        "busy_core_seconds": round(busy_core_seconds, 1),
        "idle_core_seconds": round(cores * len(samples) * SAMPLE_SECONDS - busy_core_seconds, 1),
        "seconds_below_90_percent": sum(1 for s in samples if s[1] < 90.0 * cores),
        "samples": [[round(t, 1), round(b), states] for t, b, states in samples],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--books", type=Path, default=DEFAULT_BOOKS)
    parser.add_argument("--json", action="store_true", help="one JSON object, samples included")
    args = parser.parse_args()
    books = sorted(args.books.glob("*.pdf"))
    with tempfile.TemporaryDirectory(prefix="cognition-bench-timeline-") as tmp:
        report = run(books, Path(tmp), echo=not args.json)
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
