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
    MemberState,
    Order,
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

__all__ = ["Locked", "load_set", "lock_set", "read_set"]

_LOCK_SQL = """
WITH wanted AS (
  SELECT unnest($1::text[]) AS member_id
  UNION
  SELECT r.referrer_id FROM referrals r
   WHERE r.member_id = ANY($2::text[])
     AND (r.rewarded_at IS NULL OR r.referrer_points > r.referrer_reversed)
  UNION
  SELECT c.member_id FROM referral_codes c WHERE c.code = ANY($3::text[])
), locked AS (
  INSERT INTO members AS m (member_id)
  SELECT member_id FROM wanted ORDER BY member_id
  ON CONFLICT (member_id) DO UPDATE SET member_id = excluded.member_id
  RETURNING m.member_id, m.display_name, m.timezone, m.birthday, m.hidden, m.attributes
), budget_rows AS (
  INSERT INTO rule_budgets (rule_id) SELECT unnest($4::text[]) ON CONFLICT DO NOTHING
), stock_rows AS (
  INSERT INTO reward_stock (reward_id) SELECT unnest($5::text[]) ON CONFLICT DO NOTHING
)
SELECT
  (SELECT coalesce(json_agg(locked), '[]') FROM locked)::text AS profiles,
  (SELECT coalesce(json_agg(json_build_array(r.member_id, r.referrer_id, r.rewarded_at)), '[]')
     FROM referrals r WHERE r.member_id = ANY($2::text[]))::text AS links,
  (SELECT coalesce(json_object_agg(c.code, c.member_id), '{}')
     FROM referral_codes c WHERE c.code = ANY($3::text[]))::text AS codes
"""

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

_STATE_SQL = """
SELECT
 (SELECT coalesce(json_agg(json_build_array(b.member_id, b.available, b.pending, b.held, b.debt,
         b.lifetime_earned, b.lifetime_spent, b.entries)), '[]')
    FROM balances b WHERE b.member_id = ANY($1::text[]))::text AS balances,
 (SELECT coalesce(json_agg(l ORDER BY l.member_id, l.activates_at, l.earned_at, l.lot_id), '[]')
    FROM lots l WHERE l.member_id = ANY($1::text[])
     AND (l.remaining > 0 OR ($15::bool AND EXISTS (
           SELECT 1 FROM redemptions r, jsonb_array_elements(r.draws) d
            WHERE r.member_id = l.member_id AND r.status = 'held'
              AND d ->> 'lot_id' = l.lot_id))))::text AS lots,
 (SELECT coalesce(json_agg(json_build_array(c.member_id, c.event_type, c.count, c.last_at)),
         '[]')
    FROM member_counters c WHERE c.member_id = ANY($1::text[]))::text AS counters,
 (SELECT coalesce(json_agg(json_build_array(x.member_id, x.badge_id, x.level)), '[]')
    FROM member_badges x WHERE x.member_id = ANY($1::text[]))::text AS badges,
 (SELECT coalesce(json_agg(json_build_array(u.member_id, u.rule_id, u.period_key, u.times,
         u.points)), '[]')
    FROM rule_usage u
   WHERE u.member_id = ANY($1::text[]) AND u.period_key = ANY($4::text[]))::text AS usage,
 (SELECT coalesce(json_agg(json_build_array(e.member_id, e.event_id, e.body_hash, e.result)),
         '[]')
    FROM unnest($5::text[], $6::text[]) AS k(member_id, event_id)
    JOIN events e ON e.member_id = k.member_id AND e.event_id = k.event_id)::text AS events,
 (SELECT coalesce(json_agg(json_build_array(o.member_id, o.order_id, o.purchase_event_id,
         o.amount, o.points_earned, o.refunded_amount, o.points_reversed, p.occurred_at)), '[]')
    FROM unnest($7::text[], $8::text[]) AS k(member_id, order_id)
    JOIN orders o ON o.member_id = k.member_id AND o.order_id = k.order_id
    LEFT JOIN events p ON p.member_id = o.member_id AND p.event_id = o.purchase_event_id)::text
    AS orders,
 (SELECT coalesce(json_agg(json_build_array(t.member_id, t.tier, t.since, t.held_until)), '[]')
    FROM member_tiers t
   WHERE $3::text IS NOT NULL AND t.member_id = ANY($1::text[]))::text AS tiers,
 (SELECT coalesce(json_agg(json_build_array(d.member_id, d.day, d.value)), '[]')
    FROM unnest($1::text[], $2::date[]) AS s(member_id, since)
    JOIN tier_metric_days d
      ON d.member_id = s.member_id AND d.metric = $3::text AND d.day >= s.since)::text
    AS metric_days,
 (SELECT coalesce(json_agg(json_build_array(h.member_id, h.seq)), '[]')
    FROM (SELECT member_id, max(seq) AS seq FROM tier_history
           WHERE $3::text IS NOT NULL AND member_id = ANY($1::text[])
           GROUP BY member_id) h)::text AS tier_seqs,
 (SELECT coalesce(json_agg(json_build_array(c.member_id, c.challenge_id, c.window_key, c.step,
         c.progress, c.completed_at)), '[]')
    FROM challenge_progress c
   WHERE c.member_id = ANY($1::text[]) AND c.window_key = ANY($9::text[]))::text AS challenges,
 (SELECT coalesce(json_agg(json_build_array(u.member_id, u.streak_id, u.unit)
                           ORDER BY u.member_id, u.streak_id, u.unit), '[]')
    FROM streak_units u
   WHERE $12::date IS NOT NULL AND u.member_id = ANY($1::text[]) AND u.unit >= $12::date)::text
    AS streak_units,
 (SELECT coalesce(json_agg(json_build_array(s.member_id, s.streak_id, s.longest, s.run_start,
         s.rewarded)), '[]')
    FROM member_streaks s
   WHERE $12::date IS NOT NULL AND s.member_id = ANY($1::text[]))::text AS streaks,
 (SELECT coalesce(json_agg(r), '[]') FROM referrals r
   WHERE $13::bool AND r.member_id = ANY($1::text[]))::text AS referrals,
 (SELECT coalesce(json_agg(json_build_array(r.referrer_id, r.n)), '[]')
    FROM (SELECT referrer_id, count(*) AS n FROM referrals
           WHERE $13::bool AND referrer_id = ANY($1::text[]) AND referrer_points > 0
           GROUP BY referrer_id) r)::text AS rewarded,
 (SELECT coalesce(json_agg(json_build_array(s.member_id, s.board_id, s.period_key, s.segment,
         s.score)), '[]')
    FROM board_scores s
   WHERE s.member_id = ANY($1::text[]) AND s.board_id = ANY($10::text[])
     AND s.period_key = ANY($11::text[]))::text AS boards,
 (SELECT coalesce(json_agg(json_build_array(b.rule_id, b.spent)), '[]')
    FROM (SELECT rule_id, spent FROM rule_budgets WHERE rule_id = ANY($14::text[])
          ORDER BY rule_id FOR UPDATE) b)::text AS budgets,
 (SELECT coalesce(json_agg(json_build_object('member_id', m.member_id,
         'display_name', m.display_name, 'timezone', m.timezone, 'birthday', m.birthday,
         'hidden', m.hidden, 'attributes', m.attributes)), '[]')
    FROM members m WHERE $16::bool AND m.member_id = ANY($1::text[]))::text AS profiles,
 (SELECT coalesce(json_agg(r), '[]') FROM redemptions r
   WHERE r.member_id = ANY($1::text[])
     AND (($15::bool AND r.status = 'held')
          OR (r.member_id, r.idempotency_key) IN (SELECT * FROM unnest($17::text[], $18::text[]))
          OR (r.member_id, r.redemption_id) IN (SELECT * FROM unnest($19::text[], $20::text[]))))
   ::text AS redemptions,
 (SELECT coalesce(json_agg(json_build_array(k.member_id, k.reward_id,
         (SELECT count(*) FROM redemptions r
           WHERE r.member_id = k.member_id AND r.reward_id = k.reward_id
             AND r.status IN ('held', 'committed')))), '[]')
    FROM unnest($21::text[], $22::text[]) AS k(member_id, reward_id))::text AS reward_counts,
 (SELECT coalesce(json_agg(json_build_array(a.member_id, a.idempotency_key, a.request_hash,
         a.result)), '[]')
    FROM unnest($23::text[], $24::text[]) AS k(member_id, idempotency_key)
    JOIN adjustments a
      ON a.member_id = k.member_id AND a.idempotency_key = k.idempotency_key)::text
    AS adjustments,
 (SELECT coalesce(json_agg(json_build_array(x.reward_id, x.issued)), '[]')
    FROM (SELECT reward_id, issued FROM reward_stock WHERE reward_id = ANY($25::text[])
          ORDER BY reward_id FOR UPDATE) x)::text AS stock,
 (SELECT c.code FROM coupon_codes c
   WHERE c.reward_id = $26::text AND c.member_id IS NULL AND c.code = ANY($27::text[])
   ORDER BY c.code LIMIT 1 FOR UPDATE SKIP LOCKED) AS free_code,
 (SELECT count(*) FROM coupon_codes c WHERE c.reward_id = $26::text) AS pool_size
"""
# The same without taking the budget rows' locks: for reads (a dry run) that must not wait.
_READ_SQL = _STATE_SQL.replace("FOR UPDATE SKIP LOCKED", "").replace("FOR UPDATE", "")


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
        row = await conn.raw.fetchrow(
            _LOCK_SQL, plan.members, plan.referees, plan.codes, plan.budgets, plan.stock
        )
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
    """The state statement's columns, decoded."""

    balances: list[_BalanceRow]
    lots: list[Lot]
    counters: list[_CounterRow]
    badges: list[_BadgeRow]
    usage: list[_UsageRow]
    events: list[_EventRow]
    orders: list[_OrderRow]
    tiers: list[_TierRow]
    metric_days: list[_DayRow]
    tier_seqs: list[tuple[str, int]]
    challenges: list[_ChallengeRow]
    streak_units: list[tuple[str, str, date]]
    streaks: list[_StreakRow]
    referrals: list[_ReferralRow]
    rewarded: list[tuple[str, int]]
    boards: list[_ScoreRow]
    budgets: list[tuple[str, int]]
    profiles: list[_Profile]
    redemptions: list[_RedemptionRow]
    reward_counts: list[tuple[str, str, int]]
    adjustments: list[tuple[str, str, str, Any]]
    stock: list[tuple[str, int]]


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
    return await _read(conn, plan, locked, _STATE_SQL)


async def read_set(conn: Connection, plan: ReadPlan) -> SetState:
    """The same read without locks, profiles included, for members that may not exist (a
    member never seen comes back empty); writes nothing."""
    return await _read(conn, plan, None, _READ_SQL)


def _profile(p: _Profile) -> Profile:
    return Profile(
        display_name=p.display_name,
        timezone=p.timezone,
        birthday=p.birthday,
        hidden=p.hidden,
        attributes=p.attributes,
    )


async def _read(conn: Connection, plan: ReadPlan, locked: Locked | None, sql: str) -> SetState:
    event_members, event_ids = _pairs(plan.event_ids)
    order_members, order_ids = _pairs(plan.order_ids)
    row = await conn.raw.fetchrow(
        sql,
        plan.members,
        plan.metric_since,
        plan.tier_metric,
        plan.period_keys,
        event_members,
        event_ids,
        order_members,
        order_ids,
        plan.challenge_keys,
        plan.boards,
        plan.board_periods,
        plan.streak_since,
        plan.referrals,
        plan.budgets,
        plan.holds,
        locked is None,
        *_pairs(plan.redemption_keys),
        *_pairs(plan.redemption_ids),
        *_pairs(plan.reward_counts),
        *_pairs(plan.adjustment_keys),
        plan.stock,
        plan.pool,
        plan.pool_codes,
    )
    decoded = {name: decode(row[name]) for name, decode in _DECODE.items()}
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
        budgets={rule_id: int(spent) for rule_id, spent in decoded["budgets"]},
        code_owners=code_owners,
        known=frozenset(profiles),
        stock_issued={reward_id: int(n) for reward_id, n in decoded["stock"]},
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
        return groups[name].get(member_id, [])

    balances = rows("balances")
    b = balances[0] if balances else None
    tiers = rows("tiers")
    tier = tiers[0] if tiers else None
    seqs = rows("tier_seqs")
    referrals = rows("referrals")
    rewarded = rows("rewarded")
    units: dict[str, list[date]] = defaultdict(list)
    for _, streak_id, unit in rows("streak_units"):
        units[streak_id].append(unit)
    return MemberState(
        member_id=member_id,
        profile=profile or Profile(),
        balances=Balances(
            available=b.available,
            pending=b.pending,
            held=b.held,
            debt=b.debt,
            lifetime_earned=b.lifetime_earned,
            lifetime_spent=b.lifetime_spent,
        )
        if b is not None
        else Balances(),
        entries=b.entries if b is not None else 0,
        lots=tuple(rows("lots")),
        counters={c.event_type: Counter(c.count, c.last_at) for c in rows("counters")},
        badges={x.badge_id: x.level for x in rows("badges")},
        usage={usage_key(u.rule_id, u.period_key): Usage(u.times, u.points) for u in rows("usage")},
        events={e.event_id: StoredEvent(e.body_hash, e.result) for e in rows("events")},
        orders={
            o.order_id: Order(
                order_id=o.order_id,
                purchase_event_id=o.purchase_event_id,
                amount=o.amount,
                points_earned=o.points_earned,
                refunded_amount=o.refunded_amount,
                points_reversed=o.points_reversed,
                purchased_at=o.purchased_at,
            )
            for o in rows("orders")
        },
        tier=TierState(tier.tier, tier.since, tier.held_until) if tier is not None else TierState(),
        metric_days={d.day: d.value for d in rows("metric_days")},
        metric_since=metric_since,
        tier_seq=seqs[0][1] if seqs else 0,
        challenges={
            (c.challenge_id, c.window_key): ChallengeRow(c.step, c.progress, c.completed_at)
            for c in rows("challenges")
        },
        streaks={
            s.streak_id: StreakHistory(
                tuple(units.get(s.streak_id, ())), s.longest, s.run_start, s.rewarded
            )
            for s in rows("streaks")
        },
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


def _referral(row: _ReferralRow) -> Referral:
    fields = msgspec.structs.asdict(row)
    del fields["member_id"]
    return Referral(**fields)


def _redemption(row: _RedemptionRow) -> Redemption:
    fields = msgspec.structs.asdict(row)
    del fields["member_id"]
    return Redemption(**fields)
