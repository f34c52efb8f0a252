"""SQL for the replay and the backtest: members page by page, each page's operations in the
order they were decided (`decision_seq`), the profiles and referral links they need, the
rulesets by version, and every member-owned row as stored (to compare with a replay).

Reads only; raw SQL, as `state_sql.py`, because each query returns one JSON column decoded
straight into the pipeline's own row structs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec

from service.core.ledger import Lot
from service.decide.rows import (
    AdjustmentRow,
    BadgeLevelRow,
    BadgeRow,
    BalanceRow,
    BoardScoreRow,
    ChallengeSaveRow,
    CounterRow,
    EngagementMoveRow,
    EngagementRow,
    EntryRow,
    EventRow,
    ExposureRow,
    MetricRow,
    OrderRow,
    RedemptionRow,
    ReferralRow,
    StreakRow,
    StreakUnitRow,
    TierMoveRow,
    TierRow,
    UsageRow,
)
from service.decide.state import Profile
from service.store.database import Connection

__all__ = [
    "StoredRows",
    "code_owners",
    "count_operations",
    "member_page",
    "operations",
    "profiles",
    "referral_links",
    "ruleset_files",
    "stored_rows",
]

_PAGE = """
SELECT member_id FROM members
 WHERE member_id > $1 AND ($2::text[] IS NULL OR member_id = ANY($2::text[]))
 ORDER BY member_id LIMIT $3
"""


async def member_page(
    conn: Connection, after: str, limit: int, only: Sequence[str] | None = None
) -> list[str]:
    """Up to `limit` member ids after `after`, in id order (among `only`, if given)."""
    rows = await conn.raw.fetch(_PAGE, after, list(only) if only is not None else None, limit)
    return [r["member_id"] for r in rows]


_LINKS = """
SELECT member_id, referrer_id FROM referrals
UNION
SELECT e.member_id, c.member_id FROM events e
  JOIN referral_codes c ON c.code = upper(btrim(e.attributes ->> 'referral_code'))
 WHERE e.attributes ? 'referral_code'
"""


async def referral_links(conn: Connection) -> list[tuple[str, str]]:
    """Every (member, referrer) pair an event may have tied: stored referrals, and events
    that carried a member's referral code (a draft may link where the booked rules did not)."""
    return [(r[0], r[1]) for r in await conn.raw.fetch(_LINKS)]


async def code_owners(conn: Connection) -> dict[str, str]:
    """Every referral code and its owner."""
    rows = await conn.raw.fetch("SELECT code, member_id FROM referral_codes")
    return {r["code"]: r["member_id"] for r in rows}


class _Profile(msgspec.Struct, frozen=True):
    member_id: str
    display_name: str | None
    timezone: str | None
    birthday: date | None
    hidden: bool
    attributes: dict[str, Any]


_PROFILES = """
SELECT coalesce(json_agg(json_build_object('member_id', m.member_id,
       'display_name', m.display_name, 'timezone', m.timezone, 'birthday', m.birthday,
       'hidden', m.hidden, 'attributes', m.attributes)), '[]')::text
  FROM members m WHERE m.member_id = ANY($1::text[])
"""
_decode_profiles = msgspec.json.Decoder(list[_Profile]).decode


async def erased(conn: Connection, member_ids: Sequence[str]) -> set[str]:
    """Those of the members (pseudonyms) erased at their request."""
    rows = await conn.raw.fetch(
        "SELECT member_id FROM members WHERE member_id = ANY($1::text[]) AND erased_at IS NOT NULL",
        list(member_ids),
    )
    return {r["member_id"] for r in rows}


async def profiles(conn: Connection, member_ids: Sequence[str]) -> dict[str, Profile]:
    """The members' profiles as stored now (profiles keep no history)."""
    text = await conn.raw.fetchval(_PROFILES, list(member_ids))
    out = {}
    for p in _decode_profiles(text):
        out[p.member_id] = Profile(
            display_name=p.display_name,
            timezone=p.timezone,
            birthday=p.birthday,
            hidden=p.hidden,
            attributes=p.attributes,
        )
    return out


async def ruleset_files(conn: Connection) -> dict[str, dict[str, str]]:
    """Every stored ruleset's files, by version."""
    rows = await conn.raw.fetch("SELECT version, files::text AS files FROM rulesets")
    return {r["version"]: msgspec.json.decode(r["files"], type=dict[str, str]) for r in rows}


# -- the operations of a page of members, in decision order --------------------------------


class StoredOperation(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the journal query (a tagged union is built from it by `service.replay`)."""

    kind: str
    seq: int
    now: datetime
    version: str | None
    member_id: str
    id: str
    body: dict[str, Any]


_VERSION_AT = (
    "(SELECT v.version FROM rulesets v WHERE v.created_at <= {at} "
    "ORDER BY v.created_at DESC LIMIT 1)"
)
_ACTOR = (
    "(SELECT x.actor FROM ledger_entries x WHERE x.member_id = r.member_id "
    "AND x.redemption_id = r.redemption_id ORDER BY x.entry_no {order} LIMIT 1)"
)
_OPERATIONS = f"""
SELECT coalesce(json_agg(o ORDER BY o.seq), '[]')::text FROM (
  SELECT 'event' AS kind, e.seq, e.received_at AS now, e.ruleset_version AS version,
         e.member_id, e.event_id AS id,
         json_build_object('type', e.type, 'occurred_at', e.occurred_at,
                           'attributes', e.attributes, 'body_hash', e.body_hash) AS body
    FROM events e
   WHERE e.member_id = ANY($1::text[]) AND ($2::timestamptz IS NULL OR e.received_at < $2)
  UNION ALL
  SELECT 'redeem', r.seq, r.created_at,
         coalesce(r.ruleset_version, {_VERSION_AT.format(at="r.created_at")}),
         r.member_id, r.redemption_id,
         json_build_object('key', r.idempotency_key, 'request_hash', r.request_hash,
                           'reward_id', r.reward_id, 'points', r.points,
                           'hold', r.hold_expires_at IS NOT NULL, 'reference', r.reference,
                           'coupon_code', r.coupon_code, 'actor', {_ACTOR.format(order="ASC")})
    FROM redemptions r
   WHERE r.member_id = ANY($1::text[]) AND ($2::timestamptz IS NULL OR r.created_at < $2)
  UNION ALL
  SELECT 'settle', r.settled_seq, r.settled_at,
         coalesce(r.ruleset_version, {_VERSION_AT.format(at="r.created_at")}),
         r.member_id, r.redemption_id,
         json_build_object('status', r.status, 'actor', {_ACTOR.format(order="DESC")})
    FROM redemptions r
   WHERE r.member_id = ANY($1::text[]) AND r.hold_expires_at IS NOT NULL
     AND r.status <> 'held' AND r.settled_seq IS NOT NULL
     AND ($2::timestamptz IS NULL OR r.settled_at < $2)
  UNION ALL
  SELECT 'adjust', a.seq, a.created_at,
         coalesce(a.ruleset_version, {_VERSION_AT.format(at="a.created_at")}),
         a.member_id, a.adjustment_id,
         json_build_object('key', a.idempotency_key, 'request_hash', a.request_hash,
                           'points', a.points, 'reason', a.reason, 'actor', a.actor)
    FROM adjustments a
   WHERE a.member_id = ANY($1::text[]) AND ($2::timestamptz IS NULL OR a.created_at < $2)
) o
"""  # noqa: S608 - fixed fragments, no input
_decode_operations = msgspec.json.Decoder(list[StoredOperation]).decode


async def operations(
    conn: Connection, member_ids: Sequence[str], until: datetime | None = None
) -> list[StoredOperation]:
    """The members' events, redemptions (and hold settlements) and adjustments decided
    before `until` (all, without), in the order they were decided."""
    return _decode_operations(await conn.raw.fetchval(_OPERATIONS, list(member_ids), until))


async def count_operations(
    conn: Connection, since: datetime | None = None, until: datetime | None = None
) -> tuple[int, int]:
    """(events stored, of which decided in [since, until)) — the progress bar's totals."""
    row = await conn.raw.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE ($1::timestamptz IS NULL OR "
        "received_at >= $1) AND ($2::timestamptz IS NULL OR received_at < $2)) AS period "
        "FROM events",
        since,
        until,
    )
    return int(row["n"]), int(row["period"])


# -- every member-owned row, as stored ------------------------------------------------------


class StoredRows(msgspec.Struct, kw_only=True):
    """A page of members' rows in every member-owned table (the pipeline's row structs)."""

    events: list[EventRow] = []
    counters: list[CounterRow] = []
    lots: list[Lot] = []
    entries: list[EntryRow] = []
    balances: list[BalanceRow] = []
    orders: list[OrderRow] = []
    usage: list[UsageRow] = []
    badges: list[BadgeRow] = []
    badge_levels: list[BadgeLevelRow] = []
    challenges: list[ChallengeSaveRow] = []
    streak_units: list[StreakUnitRow] = []
    streaks: list[StreakRow] = []
    metrics: list[MetricRow] = []
    tiers: list[TierRow] = []
    tier_moves: list[TierMoveRow] = []
    engagement: list[EngagementRow] = []
    engagement_moves: list[EngagementMoveRow] = []
    exposures: list[ExposureRow] = []
    referrals: list[ReferralRow] = []
    board_scores: list[BoardScoreRow] = []
    redemptions: list[RedemptionRow] = []
    adjustments: list[AdjustmentRow] = []


_TABLES = {
    "events": "events",
    "counters": "member_counters",
    "lots": "lots",
    "entries": "ledger_entries",
    "balances": "balances",
    "orders": "orders",
    "usage": "rule_usage",
    "badges": "member_badges",
    "badge_levels": "member_badge_levels",
    "challenges": "challenge_progress",
    "streak_units": "streak_units",
    "streaks": "member_streaks",
    "metrics": "tier_metric_days",
    "tiers": "member_tiers",
    "tier_moves": "tier_history",
    "engagement": "member_engagement",
    "engagement_moves": "engagement_history",
    "exposures": "experiment_exposures",
    "referrals": "referrals",
    "board_scores": "board_scores",
    "redemptions": "redemptions",
    "adjustments": "adjustments",
}
_STORED = "SELECT " + ",\n".join(  # noqa: S608 - table names
    f"(SELECT coalesce(json_agg(t), '[]') FROM {table} t "  # noqa: S608 - table names
    f"WHERE t.member_id = ANY($1::text[]))::text AS {field}"
    for field, table in _TABLES.items()
)
_decoders = {
    f.name: msgspec.json.Decoder(f.type).decode for f in msgspec.structs.fields(StoredRows)
}


async def stored_rows(conn: Connection, member_ids: Sequence[str]) -> StoredRows:
    """Every row the members own, in one statement (a replay compares them)."""
    row = await conn.raw.fetchrow(_STORED, list(member_ids))
    return StoredRows(**{name: decode(row[name]) for name, decode in _decoders.items()})
