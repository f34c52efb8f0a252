"""What `loyalty serve` and `loyalty worker` check before they start: a ruleset to run.

A service with no rules folder and nothing published could only answer 503 to every call, so
it refuses to start instead, with one line that says what to do; a rules folder that does not
load, with nothing published, is refused the same way with every problem at file:line:col.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from service.engine import RulesetInvalid, load_ruleset
from service.store import rulesets as ruleset_store
from service.store.database import Connection

__all__ = ["no_ruleset_problem"]


async def _published(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await ruleset_store.fetch_active_version(Connection(conn)) is not None
    finally:
        await conn.close()


def _folder_problems(rules_dir: Path) -> str | None:
    """None when the rules folder loads; else its problems, one per line."""
    try:
        load_ruleset(rules_dir)
    except RulesetInvalid as refused:
        return "\n".join(str(problem) for problem in refused.problems)
    return None


def no_ruleset_problem(url: str, rules_dir: Path) -> str | None:
    """None when there is a ruleset to run (one published in the database at `url`, which the
    service runs whatever the folder holds, or a rules folder that loads); else the lines to
    print."""
    if asyncio.run(_published(url)):
        return None
    if not rules_dir.is_dir():
        return (
            f"error: no rules to run: {rules_dir.resolve()} is not a folder and no ruleset is "
            "published; start in the folder that holds rules/, set LOYALTY_RULES_DIR to the "
            "rules folder, or publish one with `loyalty rules publish DIR`"
        )
    problems = _folder_problems(rules_dir)
    if problems is None:
        return None
    return (
        f"error: no rules to run: the rules in {rules_dir.resolve()} do not load and no "
        "ruleset is published; fix these (`loyalty rules check DIR` shows them again):\n" + problems
    )
