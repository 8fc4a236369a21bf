"""Audit time and peak memory on synthetic datasets of growing size.

    python -m bench.audit [--nodes 100000 1000000] [--repeat 3] [--data-dir DIR] [--json]

For each size, a dataset shaped like a real book import (``bench.synthetic``) is written
through the store's bulk path into ``<data-dir>/nodes-<N>`` (once: a later run reuses it;
the generation's time is reported). Then each repetition audits it the way the product
does (``cognition.audit.audit_dataset`` on a fresh ``Runtime``) in a fresh process, which
reports the audit's wall and CPU time and, from ``/proc/self/status``, its resident memory
just after the runtime and store started (the baseline: what the process costs before the
audit) and its peak (``VmHWM``) at the end. One more process per size times every store
query and audit step (a profile; its times are not in the medians).

Targets (issue 11): a full audit of 1M nodes in at most 60 s on 2 cores, and a peak that
does not grow with the graph (the largest size's within 1.2x of the smallest's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import audit_profile

DATASET = "synthetic"
ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
TARGET_RSS_RATIO = 1.2


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _generate(directory: Path, nodes: int) -> dict[str, Any]:
    """Child: write the dataset of ``nodes`` nodes (no embedding model is loaded)."""
    from bench.synthetic import Plan, generate
    from cognition.embedding.local import MODEL_ID
    from cognition.gate import FileGate
    from cognition.ledger import open_ledger
    from cognition.paths import DataPaths
    from cognition.settings import Settings
    from cognition.store.cognee import CogneeStore

    settings = Settings(data_dir=directory)
    dimensions = audit_profile.model_dimensions()
    store = CogneeStore(settings, audit_profile.NoModel(MODEL_ID, dimensions))
    started = time.perf_counter()
    plan = Plan.for_nodes(DATASET, nodes, dimensions)
    tally = await generate(plan, store, open_ledger(settings), FileGate(DataPaths.of(settings).locks))
    await store.close()
    return {
        "nodes_asked": nodes,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(_status_mb("VmHWM")),
        **tally.to_json(),
    }


async def _measure(directory: Path, profile: bool) -> dict[str, Any]:
    """Child: start a runtime, then audit the dataset once."""
    from cognition.audit import audit_dataset
    from cognition.runtime import Runtime
    from cognition.settings import Settings

    runtime = Runtime.build(Settings(data_dir=directory))
    await runtime.start()
    base_rss, base_hwm = _status_mb("VmRSS"), _status_mb("VmHWM")
    timer = audit_profile.install() if profile else None
    cpu, started = _cpu(), time.perf_counter()
    audit = await audit_dataset(runtime, DATASET)
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    result: dict[str, Any] = {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "baseline_rss_mb": round(base_rss),
        "baseline_hwm_mb": round(base_hwm),
        "peak_mb": round(_status_mb("VmHWM")),
        "end_rss_mb": round(_status_mb("VmRSS")),
        "status": audit.status,
        "not_ok": {c.name: c.status for c in audit.checks if c.status != "ok"},
        "nodes": sum(audit.check("counts").values["nodes"].values()),
        "edges": sum(audit.check("counts").values["edges"].values()),
    }
    if timer is not None:
        result["profile"] = timer.report()
    await runtime.close()
    return result


def _child(kind: str, directory: Path, nodes: int = 0) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.audit",
            "--child",
            kind,
            "--dir",
            str(directory),
            "--nodes",
            str(nodes),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench.audit {kind} {directory} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _dataset(data_dir: Path, nodes: int) -> dict[str, Any]:
    """The size's dataset, generated unless a previous run left it complete."""
    directory = data_dir / f"nodes-{nodes}"
    marker = directory / "generated.json"
    if marker.exists():
        found: dict[str, Any] = json.loads(marker.read_text())
        return {**found, "reused": True}
    if directory.exists():
        raise SystemExit(f"{directory} holds an incomplete dataset (no generated.json): remove it first")
    print(f"generating {nodes:,} nodes in {directory} ...", file=sys.stderr, flush=True)
    made = _child("generate", directory, nodes)
    marker.write_text(json.dumps(made, indent=1))
    return {**made, "reused": False}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(float(statistics.median(r[key] for r in runs)), 2)


def run(data_dir: Path, sizes: list[int], repeat: int) -> dict[str, Any]:
    report: dict[str, Any] = {"sizes": {}, "cpus": os.cpu_count(), "repeat": repeat}
    for nodes in sizes:
        generated = _dataset(data_dir, nodes)
        directory = data_dir / f"nodes-{nodes}"
        runs = []
        for number in range(repeat):
            print(f"auditing {nodes:,} nodes, run {number + 1}/{repeat} ...", file=sys.stderr, flush=True)
            runs.append(_child("measure", directory))
        profiled = _child("profile", directory)
        medians = {
            k: _median(runs, k) for k in ("wall_s", "cpu_s", "baseline_rss_mb", "peak_mb", "end_rss_mb")
        }
        medians["growth_mb"] = round(statistics.median(r["peak_mb"] - r["baseline_rss_mb"] for r in runs))
        report["sizes"][str(nodes)] = {
            "generated": generated,
            "runs": runs,
            "median": medians,
            "profile": profiled["profile"],
        }
    report["targets"] = _targets(report["sizes"], sizes)
    return report


def _targets(found: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    small, large = found[str(min(sizes))]["median"], found[str(max(sizes))]["median"]
    ratio = round(large["peak_mb"] / small["peak_mb"], 3)
    return {
        "largest_wall_s": large["wall_s"],
        "wall_met": large["wall_s"] <= TARGET_SECONDS,
        "peak_ratio": ratio,
        "peak_met": ratio <= TARGET_RSS_RATIO,
        "growth_ratio": round(large["growth_mb"] / max(1, small["growth_mb"]), 2),
    }


def _print(report: dict[str, Any]) -> None:
    print(
        f"{'nodes':>10} {'edges':>10} {'wall s':>7} {'cpu s':>7} {'base MB':>8} {'peak MB':>8} {'growth':>7}"
    )
    for nodes, found in report["sizes"].items():
        m, edges = found["median"], found["runs"][0]["edges"]
        print(
            f"{int(nodes):>10,} {edges:>10,} {m['wall_s']:>7} {m['cpu_s']:>7} "
            f"{m['baseline_rss_mb']:>8} {m['peak_mb']:>8} {m['growth_mb']:>7}"
        )
        statuses = found["runs"][0]["not_ok"] or "all ok"
        print(f"  generated in {found['generated']['seconds']} s; statuses {statuses}")
        for step, seconds in list(found["profile"]["steps"].items())[:8]:
            print(f"    {seconds:>7.2f} s  {step}")
    print(json.dumps(report["targets"]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".bench-audit")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--child", choices=["generate", "measure", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        print(json.dumps(asyncio.run(_generate(args.dir, args.nodes[0]))))
    elif args.child in ("measure", "profile"):
        print(json.dumps(asyncio.run(_measure(args.dir, args.child == "profile"))))
    else:
        report = run(args.data_dir.resolve(), sorted(args.nodes), args.repeat)
        print(json.dumps(report, indent=1)) if args.json else _print(report)


if __name__ == "__main__":
    main()
