"""SQL for reading a member's ledger: their state as reads show it (`load_state`, with the
profile and the game state in the same round trip), a page of entries, and the whole ledger
for `loyalty ledger verify`. Writes go through the pipeline (`member_sets`, `set_writes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, select

from service.core.entries import Entry
from service.core.ledger import Balances, Lot
from service.store.database import Connection
from service.store.progress_reads import (
    ProgressRead,
    ProgressRows,
    parse_progress,
    progress_args,
    progress_columns,
)
from service.store.sql import compile_query
from service.store.tables import balances, ledger_entries

__all__ = [
    "BalancesToCheck",
    "Counter",
    "MemberEntry",
    "MemberState",
    "Profile",
    "StoredBalances",
    "StoredEntry",
    "Usage",
    "balance_page",
    "entries_between",
    "fetch_entries",
    "load_state",
    "members_due",
    "members_without_balances",
]


# One round trip for everything an operation reads about a member (the row lock is held).
_STATE_SQL = """
SELECT
  (SELECT row_to_json(b) FROM balances b WHERE b.member_id = $1) AS balances,
  (SELECT coalesce(json_agg(l ORDER BY l.activates_at, l.earned_at, l.lot_id), '[]')
     FROM lots l WHERE l.member_id = $1 AND (l.remaining > 0 OR l.lot_id = ANY($3::text[])))
     AS lots,
  (SELECT coalesce(json_object_agg(c.event_type, json_build_object(
            'count', c.count, 'last_at', c.last_at)), '{}')
     FROM member_counters c WHERE c.member_id = $1) AS counters,
  (SELECT coalesce(json_agg(mb.badge_id), '[]')
     FROM member_badges mb WHERE mb.member_id = $1) AS badges,
  (SELECT coalesce(json_object_agg(u.rule_id || ':' || u.period_key, json_build_object(
            'times', u.times, 'points', u.points)), '{}')
     FROM rule_usage u WHERE u.member_id = $1 AND u.period_key = ANY($2::text[])) AS usage,
  (SELECT json_build_object('body_hash', e.body_hash, 'result', e.result)
     FROM events e WHERE e.member_id = $1 AND e.event_id = $4) AS event,
  (SELECT json_build_object('display_name', m.display_name, 'timezone', m.timezone,
            'birthday', m.birthday, 'hidden', m.hidden, 'attributes', m.attributes)
     FROM members m WHERE m.member_id = $1 AND $5) AS profile
"""
# The same with the member's game state (`store/game_reads.py`): one round trip for both.
_STATE_AND_GAME_SQL = _STATE_SQL.rstrip() + "," + progress_columns(6)


class Counter(msgspec.Struct, frozen=True):
    """Events of one type a member has had, and the latest one's time."""

    count: int
    last_at: datetime | None = None


class Usage(msgspec.Struct, frozen=True):
    """How often, and for how many points, a rule fired in one cap period."""

    times: int
    points: int


class StoredBalances(msgspec.Struct, frozen=True):
    """The balances row."""

    available: int = 0
    pending: int = 0
    held: int = 0
    debt: int = 0
    lifetime_earned: int = 0
    lifetime_spent: int = 0
    entries: int = 0


class Profile(msgspec.Struct, frozen=True):
    """A member's profile, as reads show it."""

    display_name: str | None
    timezone: str | None
    birthday: date | None
    hidden: bool
    attributes: dict[str, Any]


class MemberState(msgspec.Struct, frozen=True):
    """What one operation reads about a locked member."""

    balances: Balances
    entries: int
    lots: tuple[Lot, ...]
    counters: dict[str, Counter]
    badges: frozenset[str]
    usage: dict[str, Usage]
    event: Any = None
    """The stored event `load_state` was asked about (`body_hash`, `result`), or None."""
    profile: Profile | None = None
    """The member's profile when asked for (`with_profile`); None for an unknown member."""
    game: ProgressRows | None = None
    """The member's game state when asked for (`game`)."""


async def load_state(
    conn: Connection,
    member_id: str,
    period_keys: Sequence[str] = (),
    extra_lot_ids: Sequence[str] = (),
    event_id: str | None = None,
    with_profile: bool = False,
    game: ProgressRead | None = None,
) -> MemberState:
    """Balances, lots with points left (and `extra_lot_ids`), counters, badges, cap usage;
    the stored event `event_id` if any (the intake's idempotency check), the profile and the
    game state if asked for, in the same round trip."""
    args = [member_id, list(period_keys), list(extra_lot_ids), event_id, with_profile]
    if game is None:
        row = await conn.raw.fetchrow(_STATE_SQL, *args)
    else:
        row = await conn.raw.fetchrow(_STATE_AND_GAME_SQL, *args, *progress_args(game))
    profile = row["profile"]
    stored = msgspec.convert(row["balances"] or {}, StoredBalances, strict=False)
    return MemberState(
        balances=Balances(
            available=stored.available,
            pending=stored.pending,
            held=stored.held,
            debt=stored.debt,
            lifetime_earned=stored.lifetime_earned,
            lifetime_spent=stored.lifetime_spent,
        ),
        entries=stored.entries,
        lots=tuple(msgspec.convert(row["lots"], list[Lot], strict=False)),
        counters=msgspec.convert(row["counters"], dict[str, Counter], strict=False),
        badges=frozenset(row["badges"]),
        usage=msgspec.convert(row["usage"], dict[str, Usage], strict=False),
        event=row["event"],
        profile=None if profile is None else msgspec.convert(profile, Profile, strict=False),
        game=None if game is None else parse_progress(row),
    )


_ENTRIES = compile_query(
    select(
        ledger_entries.c.entry_no,
        ledger_entries.c.kind,
        ledger_entries.c.balance,
        ledger_entries.c.points,
        ledger_entries.c.lot_id,
        ledger_entries.c.reason,
        ledger_entries.c.at,
        ledger_entries.c.recorded_at,
        ledger_entries.c.event_id,
        ledger_entries.c.rule_id,
        ledger_entries.c.ruleset_version,
        ledger_entries.c.redemption_id,
        ledger_entries.c.order_id,
        ledger_entries.c.actor,
    )
    .where(
        ledger_entries.c.member_id == bindparam("member_id"),
        ledger_entries.c.entry_no < bindparam("before"),
    )
    .order_by(ledger_entries.c.entry_no.desc())
    .limit(bindparam("limit"))
)


class StoredEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger entry as stored: numbered, with when it was recorded and by whom."""

    entry_no: int
    kind: str
    balance: str
    points: int
    lot_id: str | None
    reason: str
    at: datetime
    recorded_at: datetime
    event_id: str | None
    rule_id: str | None
    ruleset_version: str | None
    redemption_id: str | None
    order_id: str | None
    actor: str | None


async def fetch_entries(
    conn: Connection, member_id: str, before: int, limit: int
) -> list[StoredEntry]:
    """Entries numbered below `before`, newest first."""
    params = {"member_id": member_id, "before": before, "limit": limit}
    return [StoredEntry(**row) for row in await conn.fetch(_ENTRIES, params)]


_DUE = compile_query(
    select(balances.c.member_id)
    .where(balances.c.next_maturity_at <= bindparam("now"))
    .order_by(balances.c.next_maturity_at)
    .limit(bindparam("limit"))
)


async def members_due(conn: Connection, now: datetime, limit: int) -> list[str]:
    """Members with a lot to activate or expire at or before `now`, most overdue first."""
    rows = await conn.fetch(_DUE, {"now": now, "limit": limit})
    return [row["member_id"] for row in rows]


_ALL_ENTRIES_SQL = """
SELECT e.member_id, e.kind, e.balance, e.points, e.lot_id, e.reason, e.at,
       e.event_id, e.rule_id, e.ruleset_version, e.redemption_id, e.order_id
FROM ledger_entries e
WHERE e.member_id > $1 AND e.member_id <= $2
ORDER BY e.member_id, e.entry_no
"""
_BALANCE_PAGE_SQL = """
SELECT b.member_id, b.available, b.pending, b.held, b.debt, b.lifetime_earned,
       b.lifetime_spent, b.entries,
       (SELECT count(*) FROM ledger_entries e WHERE e.member_id = b.member_id) AS entry_rows
FROM balances b WHERE b.member_id > $1 ORDER BY b.member_id LIMIT $2
"""
_ORPHANS_SQL = """
SELECT DISTINCT e.member_id FROM ledger_entries e
WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.member_id = e.member_id)
"""


class BalancesToCheck(msgspec.Struct, frozen=True, kw_only=True):
    """A member's balances row: the balances, the entry count it keeps and the rows counted."""

    member_id: str
    balances: Balances
    entries: int
    entry_rows: int


class MemberEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger entry of a member."""

    member_id: str
    entry: Entry


async def balance_page(conn: Connection, after: str, limit: int) -> list[BalancesToCheck]:
    """Balances rows after member id `after` (with their entry counts), in id order."""
    return [
        BalancesToCheck(
            member_id=row["member_id"],
            balances=msgspec.convert(dict(row), Balances),
            entries=row["entries"],
            entry_rows=row["entry_rows"],
        )
        for row in await conn.raw.fetch(_BALANCE_PAGE_SQL, after, limit)
    ]


async def entries_between(conn: Connection, after: str, last: str) -> list[MemberEntry]:
    """Every entry of the members with ids in (after, last], in member and entry order."""
    out = []
    for row in await conn.raw.fetch(_ALL_ENTRIES_SQL, after, last):
        fields = dict(row)
        member_id = fields.pop("member_id")
        out.append(MemberEntry(member_id=member_id, entry=msgspec.convert(fields, Entry)))
    return out


async def members_without_balances(conn: Connection) -> list[str]:
    """Members that have entries but no balances row (a broken invariant)."""
    return [row[0] for row in await conn.raw.fetch(_ORPHANS_SQL)]
