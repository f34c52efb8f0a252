"""What `loyalty serve` and `loyalty worker` check before they start: a ruleset to run.

A service with no rules folder and nothing published could only answer 503 to every call, so
it refuses to start instead, with one line that says what to do.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from service.store import rulesets as ruleset_store
from service.store.database import Connection

__all__ = ["no_ruleset_problem"]


async def _published(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await ruleset_store.fetch_active_version(Connection(conn)) is not None
    finally:
        await conn.close()


def no_ruleset_problem(url: str, rules_dir: Path) -> str | None:
    """None when there is a ruleset to run (a rules folder to publish, or one published in the
    database at `url`); else the line to print."""
    if rules_dir.is_dir() or asyncio.run(_published(url)):
        return None
    return (
        f"error: no rules to run: {rules_dir.resolve()} is not a folder and no ruleset is "
        "published; start in the folder that holds rules/, set LOYALTY_RULES_DIR to the rules "
        "folder, or publish one with `loyalty rules publish DIR`"
    )
