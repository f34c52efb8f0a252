"""Backtest speed (not a test): store a month of a shop's events, decided for real, then time
`loyalty rules backtest` of a draft that doubles `base-earn` over it.

Run: .venv/bin/python -m bench.backtest_bench [--events 1000000] [--seed 7] [--jobs N]

Prints the stored events, the seconds to store them, the backtest's events/s (one process,
one core: the replay is single-threaded Python) and its peak memory (the CLI's max RSS). Uses
DATABASE_URL's server if set (a database of its own), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import msgspec

from bench.month import month_of_events

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 3, 1, tzinfo=UTC)
_MEASURED = (
    "import sys\n"
    "from service.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "print('max-rss-kib', hwm[0].split()[1] if hwm else 0, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
"""The backtest command, reporting its own peak memory (its process alone, not the database).

The peak is the kernel's high-water mark of the process's own memory (`VmHWM`), not
`getrusage`'s `ru_maxrss`: Linux carries the latter over from the parent at `fork` + `exec`, so
it reported this benchmark's own memory (the generated month of events, ~1 GiB at 1,000,000
events) as the backtest's."""
EVENTS_PER_MEMBER = 10.5  # what month_of_events gives a member over 30 days, on average


async def _store(url: str, events: list[dict], batch: int) -> float:
    """Decide and store the events through the intake, in time order, at their moments."""
    from service.active_ruleset import ActiveRuleset
    from service.core.clock import FixedClock
    from service.http.metrics import Metrics
    from service.operations.rules import publish_to
    from service.pipeline.intake import EventIn, IntakeOptions, ingest_batch
    from service.runtime import Runtime
    from service.settings import load_settings
    from service.store.database import Database

    settings = load_settings({}, database_url=url, rules_dir=str(ROOT / "rules"))
    db = Database(url, min_size=1, max_size=2, timeout=120)
    await db.open()
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "rules").glob("*.yaml"))}
    await publish_to(db, files, "bench")
    rules = ActiveRuleset(db)
    await rules.refresh()
    clock = FixedClock(START)
    runtime = Runtime(db=db, clock=clock, rules=rules)
    options = IntakeOptions.of(settings, Metrics())  # observed, as a serving process does
    started = time.perf_counter()
    chunk: list[EventIn] = []
    done = 0

    async def flush() -> None:
        nonlocal done
        clock.set(chunk[-1].occurred_at + timedelta(seconds=30))
        outcomes = await ingest_batch(runtime, options, chunk)
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert not refused, refused[:3]
        before, done = done, done + len(chunk)
        chunk.clear()
        if before // 50_000 != done // 50_000:
            rate = done / (time.perf_counter() - started)
            print(f"  stored {done:,} events ({rate:,.0f}/s)", flush=True)

    for body in events:
        event = msgspec.convert(body, EventIn, strict=False)
        if chunk and (
            len(chunk) >= batch or event.occurred_at - chunk[0].occurred_at > timedelta(minutes=20)
        ):
            await flush()
        chunk.append(event)
    if chunk:
        await flush()
    await db.close()
    return time.perf_counter() - started


def _draft(folder: Path) -> None:
    for p in sorted((ROOT / "rules").glob("*.yaml")):
        text = p.read_text(encoding="utf-8")
        if p.name == "earn.yaml":
            text = text.replace(
                "event.amount * 10.0 * tier.multiplier", "event.amount * 20.0 * tier.multiplier"
            )
        (folder / p.name).write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes deciding the pages (default 1: the one-core figure); more runs the "
        "backtest again with that many",
    )
    parser.add_argument(
        "--keep",
        metavar="NAME",
        help="with DATABASE_URL: store into database NAME and keep it; when NAME already holds "
        "the events, only the backtest runs again (for profiling)",
    )
    args = parser.parse_args(argv)
    members = [f"m{i:07d}" for i in range(max(1, round(args.events / EVENTS_PER_MEMBER)))]
    events = month_of_events(args.seed, members, START)
    print(f"{len(events):,} events of {len(members):,} members over 30 days")
    with tempfile.TemporaryDirectory() as scratch:
        url, release, stored = _database(Path(scratch), args.keep)
        try:
            from service.store.migrate import migrate

            migrate(url)
            if stored:
                print("the events are stored already: backtest only")
            else:
                asyncio.run(_admin(url, "ALTER DATABASE {db} SET synchronous_commit = off"))
                seconds = asyncio.run(_store(url, events, args.batch))
                print(f"stored in {seconds:,.0f} s ({len(events) / seconds:,.0f} events/s)")
            draft = Path(scratch, "draft")
            draft.mkdir()
            _draft(draft)
            for jobs in sorted({1, args.jobs}):
                if _backtest(url, draft, jobs) != 0:
                    return 1
        finally:
            release()
    return 0


def _backtest(url: str, draft: Path, jobs: int) -> int:
    """Run `loyalty rules backtest` of `draft` in `jobs` processes and print its figures."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURED,
            "rules",
            "backtest",
            str(draft),
            "--since",
            "2026-03-01",
            "--until",
            "2026-04-01",
            "--format",
            "json",
            "--jobs",
            str(jobs),
        ],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    peak = int(done.stderr.rsplit("max-rss-kib ", 1)[-1].split()[0] or 0)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
        return 1
    report = json.loads(done.stdout)
    where = "on one core" if report["jobs"] == 1 else f"in {report['jobs']} processes"
    print(
        f"backtest {where}: {report['events']:,} events of {report['members']:,} members in "
        f"{report['seconds']:,.1f} s = {report['events_per_second']:,.0f} events/s (the "
        "draft decides each; the booked side is read from the stored rows where it may be, "
        f"else decided again), peak memory of the command's process {peak / 1024:,.0f} MiB"
    )
    print(
        f"  draft: {report['draft']['points_net']:,} points net against "
        f"{report['booked']['points_net']:,} booked ({report['cost_difference']} "
        f"{report['currency']})"
    )
    return 0


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        name = await conn.fetchval("SELECT current_database()")
        await conn.execute(sql.format(db=f'"{name}"'))
    finally:
        await conn.close()


def _database(scratch: Path, keep: str | None):  # type: ignore[no-untyped-def]
    """(url, release, whether the events are stored already)."""
    external = os.environ.get("DATABASE_URL")
    if keep and not external:
        raise SystemExit("--keep needs DATABASE_URL")
    if external:
        name = keep or f"loyalty_backtest_{os.getpid()}"
        base = external.rsplit("/", 1)[0]

        async def admin(sql: str) -> object:
            conn = await asyncpg.connect(external)
            try:
                return await conn.fetchval(sql)
            finally:
                await conn.close()

        exists = asyncio.run(admin(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))
        stored = False
        if exists and keep:
            stored = bool(asyncio.run(_has_events(f"{base}/{name}")))
        elif not exists:
            asyncio.run(admin(f'CREATE DATABASE "{name}"'))

        def release() -> None:
            if not keep:
                asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))

        return f"{base}/{name}", release, stored
    from service.store.embedded import EmbeddedPostgres, scratch_folder

    folder = scratch_folder("loyalty-backtest-")
    server = EmbeddedPostgres(folder)
    url = server.acquire("loyalty_backtest")

    def release() -> None:
        server.release()
        shutil.rmtree(folder, True)

    return url, release, False


async def _has_events(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass('events') IS NULL"):
            return False
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM events)"))
    finally:
        await conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
