"""The pipeline's load: lock a set of members in one statement, read all their state in one.

`lock_set` locks every member of the set (creating unknown ones) in member id order, so two
sets that share members queue instead of deadlocking; the referrers whose side of a referral
the set may book and the owners of the codes its events carry are part of the set. It also
makes sure the set's budget rows exist. `load_set` then reads, for all locked members at once,
everything `ReadPlan` names; it runs after the lock, so under READ COMMITTED it reads what the
transactions that held those locks committed (a statement that waits for a lock would still
read the snapshot it started with: that is why the lock and the read are two statements).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from service.core.ledger import Balances, Lot
from service.core.tiers import TierState
from service.decide.answers import EventResult
from service.decide.plan import LockPlan, ReadPlan
from service.decide.state import (
    ChallengeRow,
    Counter,
    EngagementLevelState,
    MemberState,
    Order,
    Prior,
    Profile,
    Redemption,
    Referral,
    SetState,
    StoredAdjustment,
    StoredEvent,
    Usage,
)
from service.engine import StreakHistory
from service.engine.snapshot import usage_key
from service.store.database import Connection
from service.store.state_sql import SECTIONS, Statement, numbered, statement

__all__ = ["Locked", "load_set", "lock_set", "read_set"]

_REFERRERS = """
  UNION
  SELECT r.referrer_id FROM referrals r
   WHERE r.member_id = ANY({referees}::text[])
     AND (r.rewarded_at IS NULL OR r.referrer_points > r.referrer_reversed)
  UNION
  SELECT c.member_id FROM referral_codes c WHERE c.code = ANY({codes}::text[])"""
_LINKS = """,
  (SELECT coalesce(json_agg(json_build_array(r.member_id, r.referrer_id, r.rewarded_at)), '[]')
     FROM referrals r WHERE r.member_id = ANY({referees}::text[]))::text AS links,
  (SELECT coalesce(json_object_agg(c.code, c.member_id), '{}')
     FROM referral_codes c WHERE c.code = ANY({codes}::text[]))::text AS codes"""
_NO_LINKS = ", '[]'::text AS links, '{}'::text AS codes"
_BUDGET_ROWS = """, budget_rows AS (
  INSERT INTO rule_budgets (rule_id) SELECT unnest({budgets}::text[]) ON CONFLICT DO NOTHING
)"""
_STOCK_ROWS = """, stock_rows AS (
  INSERT INTO reward_stock (reward_id) SELECT unnest({stock}::text[]) ON CONFLICT DO NOTHING
)"""


@functools.lru_cache(maxsize=8)
def _lock_sql(referrals: bool, budgets: bool, stock: bool) -> Statement:
    """The lock statement; the referral, budget and stock parts only where a set needs them."""
    return numbered(
        "WITH wanted AS (\n  SELECT unnest({members}::text[]) AS member_id"
        + (_REFERRERS if referrals else "")
        + """
), locked AS (
  INSERT INTO members AS m (member_id)
  SELECT member_id FROM wanted ORDER BY member_id
  ON CONFLICT (member_id) DO UPDATE SET member_id = excluded.member_id
  RETURNING m.member_id, m.display_name, m.timezone, m.birthday, m.hidden, m.attributes
)"""
        + (_BUDGET_ROWS if budgets else "")
        + (_STOCK_ROWS if stock else "")
        + "\nSELECT (SELECT coalesce(json_agg(locked), '[]') FROM locked)::text AS profiles"
        + (_LINKS if referrals else _NO_LINKS)
    )


# The worker's lock: members nobody else holds (an event or another worker is on the others).
_TRY_LOCK_SQL = """
SELECT
  (SELECT coalesce(json_agg(x), '[]') FROM (
     SELECT m.member_id, m.display_name, m.timezone, m.birthday, m.hidden, m.attributes
     FROM members m WHERE m.member_id = ANY($1::text[])
     ORDER BY m.member_id FOR UPDATE SKIP LOCKED) x)::text AS profiles,
  '[]'::text AS links,
  '{}'::text AS codes
"""


class _Profile(msgspec.Struct, frozen=True):
    member_id: str
    display_name: str | None
    timezone: str | None
    birthday: date | None
    hidden: bool
    attributes: dict[str, Any]


class _Link(msgspec.Struct, frozen=True, array_like=True):
    referee: str
    referrer: str
    rewarded_at: datetime | None


class Locked(msgspec.Struct, frozen=True, kw_only=True):
    """The locked members with their profiles, the referral links of the set's referees
    (referee, referrer, rewarded at) and the owners of the codes the events carry."""

    profiles: dict[str, Profile]
    links: list[tuple[str, str, datetime | None]]
    code_owners: dict[str, str]


_decode_profiles = msgspec.json.Decoder(list[_Profile]).decode
_decode_links = msgspec.json.Decoder(list[_Link]).decode
_decode_codes = msgspec.json.Decoder(dict[str, str]).decode


async def lock_set(conn: Connection, plan: LockPlan) -> Locked:
    """Lock the plan's members (and referrers, and code owners) in id order; their profiles.
    With `skip_locked`, only the members nobody else holds (none is created)."""
    if plan.skip_locked:
        row = await conn.raw.fetchrow(_TRY_LOCK_SQL, plan.members)
    else:
        query = _lock_sql(bool(plan.referees or plan.codes), bool(plan.budgets), bool(plan.stock))
        values = {
            "members": plan.members,
            "referees": plan.referees,
            "codes": plan.codes,
            "budgets": plan.budgets,
            "stock": plan.stock,
        }
        row = await conn.raw.fetchrow(query.sql, *(values[n] for n in query.names))
    profiles = {p.member_id: _profile(p) for p in _decode_profiles(row["profiles"])}
    return Locked(
        profiles=profiles,
        links=[(x.referee, x.referrer, x.rewarded_at) for x in _decode_links(row["links"])],
        code_owners=_decode_codes(row["codes"]),
    )


class _BalanceRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    available: int
    pending: int
    held: int
    debt: int
    lifetime_earned: int
    lifetime_spent: int
    entries: int


class _CounterRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    event_type: str
    count: int
    last_at: datetime | None


class _BadgeRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    badge_id: str
    level: int


class _UsageRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    rule_id: str
    period_key: str
    times: int
    points: int


class _EventRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    event_id: str
    body_hash: str
    result: EventResult


class _OrderRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    order_id: str
    purchase_event_id: str
    amount: Decimal
    points_earned: int
    refunded_amount: Decimal
    points_reversed: int
    purchased_at: datetime | None


class _TierRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    tier: str | None
    since: datetime | None
    held_until: datetime | None


class _DayRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    day: date
    value: Decimal


class _MetricDayRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    metric: str
    day: date
    value: Decimal


class _EngagementRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    level: str
    since: datetime
    seq: int
    drops_at: datetime | None


class _ChallengeRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    challenge_id: str
    window_key: str
    step: int
    progress: int
    completed_at: datetime | None


class _StreakRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    streak_id: str
    longest: int
    run_start: date | None
    rewarded: int


class _ReferralRow(msgspec.Struct, frozen=True):
    member_id: str
    referrer_id: str
    code: str
    linked_at: datetime
    link_event_id: str
    order_id: str | None
    rewarded_at: datetime | None
    referee_points: int
    referrer_points: int
    referrer_reversed: int


class _ScoreRow(msgspec.Struct, frozen=True, array_like=True):
    member_id: str
    board_id: str
    period_key: str
    segment: str
    score: int


class _RedemptionRow(Redemption, frozen=True, kw_only=True):
    member_id: str


class _Columns(msgspec.Struct, frozen=True):
    """The state statement's JSON columns, decoded (a section not read stays empty)."""

    balances: list[_BalanceRow] = []
    lots: list[Lot] = []
    counters: list[_CounterRow] = []
    prior_days: list[tuple[str, date, date | None, date | None]] = []
    badges: list[_BadgeRow] = []
    usage: list[_UsageRow] = []
    events: list[_EventRow] = []
    orders: list[_OrderRow] = []
    tiers: list[_TierRow] = []
    metric_days: list[_DayRow] = []
    engagement_days: list[_MetricDayRow] = []
    engagement: list[_EngagementRow] = []
    tier_seqs: list[tuple[str, int]] = []
    challenges: list[_ChallengeRow] = []
    streak_units: list[tuple[str, str, date]] = []
    streaks: list[_StreakRow] = []
    referrals: list[_ReferralRow] = []
    rewarded: list[tuple[str, int]] = []
    boards: list[_ScoreRow] = []
    budgets: list[tuple[str, int]] = []
    profiles: list[_Profile] = []
    redemptions: list[_RedemptionRow] = []
    reward_counts: list[tuple[str, str, int]] = []
    adjustments: list[tuple[str, str, str, Any]] = []
    stock: list[tuple[str, int]] = []


def _decoders() -> dict[str, Any]:
    return {f.name: msgspec.json.Decoder(f.type).decode for f in msgspec.structs.fields(_Columns)}


_DECODE = _decoders()


def _by_member(rows: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[0] if isinstance(row, tuple) else row.member_id].append(row)
    return grouped


async def load_set(conn: Connection, plan: ReadPlan, locked: Locked) -> SetState:
    """Read everything `plan` names for the locked members, in one statement."""
    return await _read(conn, plan, locked)


async def read_set(conn: Connection, plan: ReadPlan) -> SetState:
    """The same read without locks, profiles included, for members that may not exist (a
    member never seen comes back empty); writes nothing."""
    return await _read(conn, plan, None)


def _profile(p: _Profile) -> Profile:
    return Profile(
        display_name=p.display_name,
        timezone=p.timezone,
        birthday=p.birthday,
        hidden=p.hidden,
        attributes=p.attributes,
    )


def _sections(plan: ReadPlan, read_only: bool) -> tuple[str, ...]:
    """The state sections this plan needs, in a fixed order (one statement per combination)."""
    redemptions = plan.holds or bool(plan.redemption_keys or plan.redemption_ids)
    wanted = {
        "balances": True,
        "lots_and_draws": redemptions,
        "lots": not redemptions,
        "counters": bool(plan.event_ids),
        "prior_days": bool(plan.prior_days),
        "badges": bool(plan.event_ids),
        "usage": bool(plan.period_keys),
        "events": bool(plan.event_ids),
        "orders": bool(plan.order_ids),
        "tiers": plan.tier_metric is not None,
        "metric_days": plan.tier_metric is not None,
        "engagement_days": plan.engagement_since is not None,
        "engagement": plan.engagement_since is not None,
        "tier_seqs": plan.tier_metric is not None,
        "challenges": bool(plan.challenge_keys),
        "streak_units": plan.streak_since is not None,
        "streaks": plan.streak_since is not None,
        "referrals": plan.referrals,
        "rewarded": plan.referrals,
        "boards": bool(plan.boards and plan.board_periods),
        "budgets": bool(plan.budgets),
        "profiles": read_only,
        "redemptions": redemptions,
        "reward_counts": bool(plan.reward_counts),
        "adjustments": bool(plan.adjustment_keys),
        "stock": bool(plan.stock),
        "free_code": plan.pool is not None,
        "pool_size": plan.pool is not None,
    }
    return tuple(name for name in SECTIONS if wanted[name])


def _params(plan: ReadPlan) -> dict[str, Any]:
    event_members, event_ids = _pairs(plan.event_ids)
    order_members, order_ids = _pairs(plan.order_ids)
    key_members, keys = _pairs(plan.redemption_keys)
    id_members, ids = _pairs(plan.redemption_ids)
    count_members, count_rewards = _pairs(plan.reward_counts)
    adjustment_members, adjustment_keys = _pairs(plan.adjustment_keys)
    return {
        "prior_members": [member for member, _ in plan.prior_days],
        "prior_days": [day for _, day in plan.prior_days],
        "members": plan.members,
        "metric_since": plan.metric_since,
        "tier_metric": plan.tier_metric,
        "engagement_metrics": plan.engagement_metrics,
        "engagement_since": plan.engagement_since,
        "period_keys": plan.period_keys,
        "event_members": event_members,
        "event_ids": event_ids,
        "order_members": order_members,
        "order_ids": order_ids,
        "challenge_keys": plan.challenge_keys,
        "boards": plan.boards,
        "board_periods": plan.board_periods,
        "streak_since": plan.streak_since,
        "budgets": plan.budgets,
        "key_members": key_members,
        "keys": keys,
        "id_members": id_members,
        "ids": ids,
        "count_members": count_members,
        "count_rewards": count_rewards,
        "adjustment_members": adjustment_members,
        "adjustment_keys": adjustment_keys,
        "stock": plan.stock,
        "pool": plan.pool,
        "pool_codes": plan.pool_codes,
    }


async def _read(conn: Connection, plan: ReadPlan, locked: Locked | None) -> SetState:
    sections = _sections(plan, read_only=locked is None)
    query = statement(sections, locking=locked is not None)
    values = _params(plan)
    row = await conn.raw.fetchrow(query.sql, *(values[name] for name in query.names))
    columns = set(row.keys())
    decoded = {name: decode(row[name]) for name, decode in _DECODE.items() if name in columns}
    groups = {
        name: _by_member(rows) for name, rows in decoded.items() if name not in ("budgets", "stock")
    }
    if locked is None:
        profiles = {p.member_id: _profile(p) for p in decoded["profiles"]}
        code_owners: dict[str, str] = {}
    else:
        profiles, code_owners = locked.profiles, locked.code_owners
    since = dict(zip(plan.members, plan.metric_since, strict=True))
    members = {
        member_id: _member(member_id, profiles.get(member_id), groups, since[member_id])
        for member_id in plan.members
    }
    return SetState(
        members=members,
        budgets={rule_id: int(spent) for rule_id, spent in decoded.get("budgets", ())},
        code_owners=code_owners,
        known=frozenset(profiles),
        stock_issued={reward_id: int(n) for reward_id, n in decoded.get("stock", ())},
        free_codes={plan.pool: row["free_code"]} if plan.pool and row["free_code"] else {},
        pool_sizes={plan.pool: int(row["pool_size"])} if plan.pool else {},
    )


def _pairs(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [a for a, _ in pairs], [b for _, b in pairs]


def _member(
    member_id: str,
    profile: Profile | None,
    groups: dict[str, dict[str, list[Any]]],
    metric_since: date | None,
) -> MemberState:
    def rows(name: str) -> list[Any]:
        group = groups.get(name)
        return group.get(member_id, []) if group is not None else []

    balances = rows("balances")
    b = balances[0] if balances else None
    tiers = rows("tiers")
    tier = tiers[0] if tiers else None
    seqs = rows("tier_seqs")
    referrals = rows("referrals")
    rewarded = rows("rewarded")
    return MemberState(
        member_id=member_id,
        profile=profile or Profile(),
        balances=_balances(b) if b is not None else Balances(),
        entries=b.entries if b is not None else 0,
        lots=tuple(rows("lots")),
        counters={c.event_type: Counter(c.count, c.last_at) for c in rows("counters")},
        prior={day: Prior(purchase, active) for _, day, purchase, active in rows("prior_days")},
        badges={x.badge_id: x.level for x in rows("badges")},
        usage={usage_key(u.rule_id, u.period_key): Usage(u.times, u.points) for u in rows("usage")},
        events={e.event_id: StoredEvent(e.body_hash, e.result) for e in rows("events")},
        orders={o.order_id: _order(o) for o in rows("orders")},
        tier=TierState(tier.tier, tier.since, tier.held_until) if tier is not None else TierState(),
        metric_days={d.day: d.value for d in rows("metric_days")},
        metric_since=metric_since,
        engagement_days={(d.metric, d.day): d.value for d in rows("engagement_days")},
        engagement=_engagement(rows("engagement")),
        tier_seq=seqs[0][1] if seqs else 0,
        challenges={
            (c.challenge_id, c.window_key): ChallengeRow(c.step, c.progress, c.completed_at)
            for c in rows("challenges")
        },
        streaks=_streaks(rows("streaks"), rows("streak_units")),
        referral=_referral(referrals[0]) if referrals else None,
        referrals_rewarded=rewarded[0][1] if rewarded else 0,
        boards={(s.board_id, s.period_key, s.segment): s.score for s in rows("boards")},
        redemptions={r.redemption_id: _redemption(r) for r in rows("redemptions")},
        active_redemptions={reward: int(n) for _, reward, n in rows("reward_counts")},
        adjustments={
            key: StoredAdjustment(request_hash, result)
            for _, key, request_hash, result in rows("adjustments")
        },
    )


def _balances(b: Any) -> Balances:
    return msgspec.convert(b, Balances, from_attributes=True)


def _order(o: Any) -> Order:
    return Order(
        order_id=o.order_id,
        purchase_event_id=o.purchase_event_id,
        amount=o.amount,
        points_earned=o.points_earned,
        refunded_amount=o.refunded_amount,
        points_reversed=o.points_reversed,
        purchased_at=o.purchased_at,
    )


def _streaks(streaks: list[Any], streak_units: list[Any]) -> dict[str, StreakHistory]:
    units: dict[str, list[date]] = defaultdict(list)
    for _, streak_id, unit in streak_units:
        units[streak_id].append(unit)
    return {
        s.streak_id: StreakHistory(
            tuple(units.get(s.streak_id, ())), s.longest, s.run_start, s.rewarded
        )
        for s in streaks
    }


def _engagement(rows: list[_EngagementRow]) -> EngagementLevelState:
    if not rows:
        return EngagementLevelState()
    g = rows[0]
    return EngagementLevelState(level=g.level, since=g.since, seq=g.seq, drops_at=g.drops_at)


def _referral(row: _ReferralRow) -> Referral:
    fields = msgspec.structs.asdict(row)
    del fields["member_id"]
    return Referral(**fields)


def _redemption(row: _RedemptionRow) -> Redemption:
    fields = msgspec.structs.asdict(row)
    del fields["member_id"]
    return Redemption(**fields)
