"""What a read benchmark times use cases on: a Runtime over `url` with the demo program active
(published from `rules/` if nothing is) and the clock fixed at `now`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from service.active_ruleset import ActiveRuleset
from service.core.clock import FixedClock
from service.runtime import Runtime
from service.store.database import Database

__all__ = ["RULES", "open_runtime"]

RULES = Path(__file__).resolve().parents[1] / "rules"


@contextlib.asynccontextmanager
async def open_runtime(url: str, now: datetime) -> AsyncIterator[Runtime]:
    """The runtime, its pool and ruleset listener closed on the way out."""
    db = Database(url, min_size=1, max_size=2)
    await db.open()
    rules = ActiveRuleset(db)
    try:
        await rules.start(RULES)
        yield Runtime(db=db, clock=FixedClock(now), rules=rules)
    finally:
        await rules.stop()
        await db.close()
