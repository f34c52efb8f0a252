"""SQL for the member's ledger: the member lock, the state an operation needs, and its writes.

One operation on a member is: `lock_member` (creates an unknown member and takes its row lock),
`load_state` (balances, lots with points left, counters, badges and cap usage, in one round
trip), then the writes of what the pure core returned (`save_book`: changed lots, new entries
and the balances row, in one statement).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from service.core.ledger import Balances, Entry, Lot
from service.store.database import Connection
from service.store.game_reads import GameRead, GameRows, game_args, game_columns, parse_game
from service.store.sql import compile_query
from service.store.tables import balances, ledger_entries, members

__all__ = [
    "MemberState",
    "Profile",
    "balance_page",
    "entries_between",
    "fetch_entries",
    "load_state",
    "lock_member",
    "members_due",
    "members_without_balances",
    "save_book",
    "try_lock_member",
]

_profile = (
    members.c.member_id,
    members.c.display_name,
    members.c.timezone,
    members.c.birthday,
    members.c.hidden,
    members.c.attributes,
)
_lock = insert(members).values(member_id=bindparam("member_id"))
_LOCK = compile_query(
    _lock.on_conflict_do_update(
        index_elements=[members.c.member_id],
        set_={"member_id": _lock.excluded.member_id},  # no-op update: takes the row lock
    ).returning(*_profile)
)

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
_STATE_AND_GAME_SQL = _STATE_SQL.rstrip() + "," + game_columns(6)


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
    game: GameRows | None = None
    """The member's game state when asked for (`game`)."""


async def lock_member(conn: Connection, member_id: str) -> Any:
    """Create the member if unknown, lock its row until commit, and return its profile."""
    return await conn.fetchrow(_LOCK, {"member_id": member_id})


async def load_state(
    conn: Connection,
    member_id: str,
    period_keys: Sequence[str] = (),
    extra_lot_ids: Sequence[str] = (),
    event_id: str | None = None,
    with_profile: bool = False,
    game: GameRead | None = None,
) -> MemberState:
    """Balances, lots with points left (and `extra_lot_ids`), counters, badges, cap usage;
    the stored event `event_id` if any (the intake's idempotency check), the profile and the
    game state if asked for, in the same round trip."""
    args = [member_id, list(period_keys), list(extra_lot_ids), event_id, with_profile]
    if game is None:
        row = await conn.raw.fetchrow(_STATE_SQL, *args)
    else:
        row = await conn.raw.fetchrow(_STATE_AND_GAME_SQL, *args, *game_args(game))
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
        game=None if game is None else parse_game(row),
    )


_SAVE_BOOK_SQL = """
WITH saved_lots AS (
  INSERT INTO lots AS l (member_id, lot_id, earned_at, activates_at, expires_at, points,
                         remaining, state, event_id, rule_id, ruleset_version, order_id)
  SELECT $1, * FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
                           $6::bigint[], $7::bigint[], $8::text[], $9::text[], $10::text[],
                           $11::text[], $12::text[])
  ON CONFLICT (member_id, lot_id) DO UPDATE
    SET remaining = excluded.remaining, state = excluded.state
), appended AS (
  INSERT INTO ledger_entries (member_id, entry_no, kind, balance, points, lot_id, reason, at,
                              event_id, rule_id, ruleset_version, redemption_id, order_id, actor)
  SELECT $1, n, kind, balance, points, lot_id, reason, at, event_id, rule_id, ruleset_version,
         redemption_id, order_id, $13
  FROM unnest($14::bigint[], $15::text[], $16::text[], $17::bigint[], $18::text[], $19::text[],
              $20::timestamptz[], $21::text[], $22::text[], $23::text[], $24::text[], $25::text[])
       AS e(n, kind, balance, points, lot_id, reason, at, event_id, rule_id, ruleset_version,
            redemption_id, order_id)
)
INSERT INTO balances AS b (member_id, available, pending, held, debt, lifetime_earned,
                           lifetime_spent, entries, next_maturity_at)
VALUES ($1, $26, $27, $28, $29, $30, $31, $32, $33)
ON CONFLICT (member_id) DO UPDATE SET
  available = excluded.available, pending = excluded.pending, held = excluded.held,
  debt = excluded.debt, lifetime_earned = excluded.lifetime_earned,
  lifetime_spent = excluded.lifetime_spent, entries = excluded.entries,
  next_maturity_at = excluded.next_maturity_at, updated_at = now()
"""
_LOT_COLUMNS = (
    "lot_id",
    "earned_at",
    "activates_at",
    "expires_at",
    "points",
    "remaining",
    "state",
    "event_id",
    "rule_id",
    "ruleset_version",
    "order_id",
)
_ENTRY_COLUMNS = (
    "kind",
    "balance",
    "points",
    "lot_id",
    "reason",
    "at",
    "event_id",
    "rule_id",
    "ruleset_version",
    "redemption_id",
    "order_id",
)


async def save_book(
    conn: Connection,
    member_id: str,
    changed: Sequence[Lot],
    first_no: int,
    entries: Sequence[Entry],
    new: Balances,
    next_maturity_at: datetime | None,
    actor: str | None = None,
) -> None:
    """Write, in one statement: the changed lots (upserted), the new entries numbered from
    `first_no` + 1, and the balances row."""
    lot_columns = [[getattr(lot, name) for lot in changed] for name in _LOT_COLUMNS]
    entry_columns = [[getattr(entry, name) for entry in entries] for name in _ENTRY_COLUMNS]
    numbers = list(range(first_no + 1, first_no + 1 + len(entries)))
    await conn.raw.execute(
        _SAVE_BOOK_SQL,
        member_id,
        *lot_columns,
        actor,
        numbers,
        *entry_columns,
        new.available,
        new.pending,
        new.held,
        new.debt,
        new.lifetime_earned,
        new.lifetime_spent,
        first_no + len(entries),
        next_maturity_at,
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


async def fetch_entries(conn: Connection, member_id: str, before: int, limit: int) -> list[Any]:
    """Entries numbered below `before`, newest first."""
    return await conn.fetch(_ENTRIES, {"member_id": member_id, "before": before, "limit": limit})


_TRY_LOCK = compile_query(
    select(members.c.member_id)
    .where(members.c.member_id == bindparam("member_id"))
    .with_for_update(skip_locked=True)
)
_DUE = compile_query(
    select(balances.c.member_id)
    .where(balances.c.next_maturity_at <= bindparam("now"))
    .order_by(balances.c.next_maturity_at)
    .limit(bindparam("limit"))
)


async def try_lock_member(conn: Connection, member_id: str) -> bool:
    """Lock the member unless another transaction holds it (then False: someone is on it)."""
    return await conn.fetchval(_TRY_LOCK, {"member_id": member_id}) is not None


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


async def balance_page(conn: Connection, after: str, limit: int) -> list[Any]:
    """Balances rows after member id `after` (with their entry counts), in id order."""
    return list(await conn.raw.fetch(_BALANCE_PAGE_SQL, after, limit))


async def entries_between(conn: Connection, after: str, last: str) -> list[Any]:
    """Every entry of the members with ids in (after, last], in member and entry order."""
    return list(await conn.raw.fetch(_ALL_ENTRIES_SQL, after, last))


async def members_without_balances(conn: Connection) -> list[str]:
    """Members that have entries but no balances row (a broken invariant)."""
    return [row[0] for row in await conn.raw.fetch(_ORPHANS_SQL)]
