"""The benchmark command works: `python -m bench --smoke` runs end to end in seconds.

Not a timed test: it checks that the command seeds, serves, drives every figure, prints the
table and writes the JSON, not what the figures are (CI machines are too noisy for that).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_smoke_prints_the_table_and_writes_the_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "| figure | conc. | throughput |" in done.stdout
    for label in ("single-event ingest", "member read", "leaderboard rank", "redemption"):
        assert label in done.stdout
    assert "0 with differences" in done.stdout  # `ledger verify` after the run
    written = next(
        line.split("written: ", 1)[1] for line in done.stdout.splitlines() if "written: " in line
    )
    document = json.loads((ROOT / written).read_text())
    figures = document["figures"]
    assert {
        "http_ceiling",
        "pg_ceiling",
        "ingest",
        "batch10",
        "batch50",
        "member_read",
    } <= figures.keys()
    assert all(f["errors"] == 0 for f in figures.values()), figures
    assert all(f["operations"] > 0 for f in figures.values()), figures
    assert document["load_generator_cpu_cores_median"] is not None
