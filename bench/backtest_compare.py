"""Backtest speed, old code against new (not a test): the same stored events backtested by two
source trees in turn, each run's process CPU time measured, and the two reports compared.

Run: .venv/bin/python -m bench.backtest_compare --database URL --old DIR [--new DIR] [--rounds 3]

`URL` is a database `bench.backtest_bench --keep NAME` filled; `DIR` a source tree (for the old
code, e.g. `git archive main | tar -x -C /tmp/bt-base`). The runs alternate (old, new, old,
new...) so that load on a shared machine falls on both alike; process CPU (user + system of the
backtest process, not PostgreSQL's) is the figure, not wall time. Every report field but the
timings must be identical between the trees; the script exits 1 when they are not.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.backtest_bench import _draft

ROOT = Path(__file__).resolve().parents[1]
_CHILD = """
import asyncio, json, resource, sys, time
from datetime import UTC, datetime
from pathlib import Path
import msgspec
from service.engine import load_ruleset_from_files
from service.operations.backtest import backtest_at
folder, url = sys.argv[1], sys.argv[2]
files = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.yaml"))}
draft = load_ruleset_from_files(files, origin=folder)
before = resource.getrusage(resource.RUSAGE_SELF)
wall = time.perf_counter()
report = asyncio.run(backtest_at(url, draft, since=datetime(2026, 3, 1, tzinfo=UTC),
                                 until=datetime(2026, 4, 1, tzinfo=UTC)))
wall = time.perf_counter() - wall
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
plain = msgspec.to_builtins(report)
plain.pop("seconds"); plain.pop("events_per_second")
sys.stdout.write(json.dumps({"cpu": cpu, "wall": wall, "report": plain}))
"""


def _run(tree: Path, folder: str, url: str) -> tuple[float, float, str, int]:
    """(CPU seconds, wall seconds, the report as JSON text without timings, events) of one
    backtest."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, folder, url],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    out = json.loads(done.stdout)
    return out["cpu"], out["wall"], json.dumps(out["report"]), out["report"]["events"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--old", required=True, type=Path)
    parser.add_argument("--new", default=ROOT, type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        _draft(Path(folder))
        cpu: dict[str, list[float]] = {"old": [], "new": []}
        reports: dict[str, set[str]] = {"old": set(), "new": set()}
        events = 0
        for n in range(args.rounds):
            for side in ("old", "new"):
                seconds, wall, report, events = _run(getattr(args, side), folder, args.database)
                cpu[side].append(seconds)
                reports[side].add(report)
                print(f"round {n + 1} {side}: {seconds:.2f} CPU s, {wall:.2f} s wall", flush=True)
    same = reports["old"] == reports["new"] and len(reports["old"]) == 1
    for side in ("old", "new"):
        best = min(cpu[side])
        figures = " / ".join(f"{s:.2f}" for s in cpu[side])
        print(f"{side}: {figures} CPU s; best {best:.2f} = {events / best:,.0f} events/CPU s")
    print(f"{events:,} events; reports identical (but timings): {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
