"""The commands that decide stored history again: `loyalty ledger replay --check` and
`loyalty rules backtest` (the use cases are `usecases/replay.py` and `usecases/backtest.py`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from service.settings import Settings

__all__ = ["ledger_replay"]


def _members(text: str | None) -> list[str] | None:
    return [m.strip() for m in text.split(",") if m.strip()] if text else None


def ledger_replay(settings: Settings, args: argparse.Namespace, url: str) -> int:
    """Replay every stored operation with the version that booked it; exit 1 on a difference."""
    from service.replay.compare import Difference
    from service.store.database import Database
    from service.usecases.replay import ReplayDone, replay_check

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
                if isinstance(outcome, Difference):
                    bad = True
                    print(outcome.line())
                elif isinstance(outcome, str):
                    bad = True
                    print(outcome)
                elif isinstance(outcome, ReplayDone):
                    print(
                        f"replayed {outcome.operations} operations of {outcome.members} members: "
                        f"{outcome.members_different} with differences"
                    )
                    bad = bad or outcome.members_different > 0
        finally:
            await db.close()
        return 1 if bad else 0

    return asyncio.run(run())
