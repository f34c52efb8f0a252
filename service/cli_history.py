"""The commands that decide stored history again: `loyalty ledger replay --check` and
`loyalty rules backtest` (the use cases are `operations/replay.py` and `operations/backtest.py`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from service.settings import Settings

__all__ = ["add_backtest_command", "ledger_replay", "rules_backtest"]


def _members(text: str | None) -> list[str] | None:
    return [m.strip() for m in text.split(",") if m.strip()] if text else None


def ledger_replay(settings: Settings, args: argparse.Namespace, url: str) -> int:
    """Replay every stored operation with the version that booked it; exit 1 on a difference."""
    from service.operations.replay import ErasedDifferent, ReplayDone, replay_check
    from service.replay.compare import Difference
    from service.store.database import Database

    if not args.check:
        print("error: say --check (the replay compares; it never rewrites)", file=sys.stderr)
        return 2

    async def run() -> int:
        db = Database(url, min_size=0, max_size=2, timeout=60)
        await db.open()
        bad = False
        try:
            async for outcome in replay_check(
                db, datetime.now(UTC), only=_members(args.members), per_member=args.per_member
            ):
                if isinstance(outcome, ErasedDifferent):
                    print(outcome.line())
                elif isinstance(outcome, Difference):
                    bad = True
                    print(outcome.line())
                elif isinstance(outcome, str):
                    bad = True
                    print(outcome)
                elif isinstance(outcome, ReplayDone):
                    print(
                        f"replayed {outcome.operations} operations of {outcome.members} members: "
                        f"{outcome.members_different} with differences"
                        + (
                            f" ({outcome.erased_different} erased members differ: notes above)"
                            if outcome.erased_different
                            else ""
                        )
                    )
                    bad = bad or outcome.members_different > 0
        finally:
            await db.close()
        return 1 if bad else 0

    return asyncio.run(run())


def _day(text: str) -> datetime:
    """A date (midnight UTC) or an ISO instant."""
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class _Bar:
    """The progress bar on stderr: events done, events/s, time left."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate else 0.0
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} events "
            f"{rate:,.0f}/s, {left:,.0f} s left "
        )
        sys.stderr.flush()


def rules_backtest(settings: Settings, args: argparse.Namespace, url: str) -> int:
    """Backtest the draft in DIR over a stored period; print the report."""
    from pathlib import Path

    import msgspec

    from service.engine import RulesetInvalid, load_ruleset_from_files
    from service.operations.backtest import BacktestReport, backtest_at
    from service.replay.report_text import render

    directory = Path(args.dir) if args.dir else settings.rules_path
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}
    try:
        draft = load_ruleset_from_files(files, origin=str(directory))
    except RulesetInvalid as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) found; nothing was backtested")
        return 1
    until = _day(args.until) if args.until else datetime.now(UTC)
    since = _day(args.since) if args.since else until - timedelta(days=30)
    if since >= until:
        print("error: --since must be before --until", file=sys.stderr)
        return 2

    async def run() -> BacktestReport:
        return await backtest_at(
            url,
            draft,
            since=since,
            until=until,
            members=args.members,
            on_progress=_Bar() if sys.stderr.isatty() or args.progress else None,
            jobs=args.jobs,
        )

    report = asyncio.run(run())
    sys.stderr.write("\n")
    encoded = msgspec.json.format(msgspec.json.encode(report), indent=2)
    if args.out:
        Path(args.out).write_bytes(encoded + b"\n")
    if args.format == "json":
        print(encoded.decode())
    else:
        print(render(report, markdown=args.format == "markdown"), end="")
    return 0


def _jobs(text: str) -> int:
    """`--jobs`: a count of processes, 0 for one per core."""
    import os

    jobs = int(text)
    if jobs < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per core) or more")
    return jobs or os.cpu_count() or 1


def add_backtest_command(rule_commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`loyalty rules backtest DIR [--since] [--until] [--members N] [--jobs N] [--format]
    [--out]`."""
    sub = rule_commands.add_parser(
        "backtest",
        help="replay a stored period through the draft rules in DIR beside the booked rules "
        "(database, read only); print what would change",
    )
    sub.add_argument("dir", nargs="?", metavar="DIR", help="the draft rules folder")
    sub.add_argument("--since", help="first day (default: 30 days before --until)")
    sub.add_argument("--until", help="the day after the last (default: now)")
    sub.add_argument("--members", type=int, help="only the first N members (a quick look)")
    sub.add_argument(
        "--jobs",
        type=_jobs,
        default=1,
        help="decide the pages of members in N processes (default 1; 0: one per core); one "
        "when a global budget is in play (drawn in member order)",
    )
    sub.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    sub.add_argument("--out", help="also write the report as JSON to this file")
    sub.add_argument("--progress", action="store_true", help="a progress bar even without a tty")
    sub.set_defaults(run=_backtest_entry)


def _backtest_entry(settings: Settings, args: argparse.Namespace) -> int:
    from service.cli_database import database_url
    from service.store.migrate import migrate

    with database_url(settings) as url:
        migrate(url)
        return rules_backtest(settings, args, url)
