"""Readers for the tests: what the service stored, read through its own store functions rather
than SQL written against the schema, so that a test says what it checks and not where it lives.

Each returns plain dicts (or values), whatever the store function returns (rows today, typed
values tomorrow), so a test reads `entry["kind"]` either way. Tests that check the schema's
own invariants on purpose (ledger verify, crash, tamper and report tests) keep their SQL.
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.store import history, ledger, members, reads, redemptions, rulesets, webhooks
from service.store.database import Database
from service.store.history import StoredRows
from service.store.ledger import MemberState

_NEWEST = 2**63 - 1
"""An entry number above every entry's (`fetch_entries` reads below it)."""


def as_dict(value: Any) -> dict[str, Any]:
    """A stored row or a typed value as a dict of its fields."""
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.asdict(value)
    return dict(value)


async def ledger_entries(db: Database, member_id: str) -> list[dict[str, Any]]:
    """Every ledger entry of the member, oldest first."""
    async with db.connection() as conn:
        rows = await ledger.fetch_entries(conn, member_id, _NEWEST, 100_000)
    return [as_dict(row) for row in reversed(rows)]


async def member_state(
    db: Database,
    member_id: str,
    period_keys: tuple[str, ...] = (),
    lot_ids: tuple[str, ...] = (),
) -> MemberState:
    """What an operation reads about the member: balances, lots with points left (and the
    lots `lot_ids`, empty or not), counters, badges, cap usage in `period_keys`."""
    async with db.connection() as conn:
        return await ledger.load_state(conn, member_id, period_keys, lot_ids)


async def member_rows(db: Database, *member_ids: str) -> StoredRows:
    """Every row the members own, table by table, as a replay reads them (in no order within
    a table: sort by `seq` where the order matters)."""
    async with db.connection() as conn:
        return await history.stored_rows(conn, member_ids)


async def stored_event(db: Database, member_id: str, event_id: str) -> dict[str, Any] | None:
    """The stored event (its body and result), or None."""
    async with db.connection() as conn:
        row = await reads.fetch_event(conn, member_id, event_id)
    return None if row is None else as_dict(row)


async def stored_profile(db: Database, member_id: str) -> dict[str, Any] | None:
    """The member's profile row, or None."""
    async with db.connection() as conn:
        row = await members.fetch_member(conn, member_id)
    return None if row is None else as_dict(row)


async def stock_issued(db: Database) -> dict[str, int]:
    """Units handed out per stocked reward."""
    async with db.connection() as conn:
        return await redemptions.stock_issued(conn)


async def ruleset_versions(db: Database) -> list[dict[str, Any]]:
    """Every stored ruleset version, newest first."""
    async with db.connection() as conn:
        return [as_dict(row) for row in await rulesets.fetch_versions(conn, 1000)]


async def webhook_endpoints(db: Database) -> list[dict[str, Any]]:
    """Every webhook endpoint, oldest first."""
    async with db.connection() as conn:
        return [as_dict(row) for row in await webhooks.endpoints(conn)]
