"""The program's daily figures, as amounts to add: what a decision changes in the rollups the
reports read (points earned per rule, spent per reward, expired, reversed; the balances' totals;
points scheduled to expire per month; purchases; members per tier and engagement level and the
moves between them; experiment exposures), each on a local day of the program's time zone.

Pure: the rows of a decision, the members before and after it, and the time zone in; deltas
out. The
save adds them to shared counter rows (`program_rollups`), so one set writes one shard
(`shard_of`), and a report sums the shards. Active members are counted by the save itself
(`ActivityRow`): whether a day is a member's first of its week is known only to the store.

`store.program_rollups.computed` computes the same figures from the ledger, the lots and the
histories directly; `loyalty reports verify` compares the two.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from service.core.ledger import Lot
from service.core.periods import local_date
from service.decide.state import MemberState

if TYPE_CHECKING:
    from service.decide.rows import EngagementMoveRow, EntryRow, Rows, TierMoveRow

__all__ = [
    "SHARDS",
    "TOTALS_DAY",
    "ActivityRow",
    "RollupRow",
    "activity_rows",
    "month_of",
    "rollup_rows",
    "shard_of",
]

SHARDS = 16
"""Counter rows per figure and day: concurrent sets mostly add to different rows."""

TOTALS_DAY = date(1970, 1, 1)
"""The day of figures kept as running totals only (members per tier)."""


class RollupRow(msgspec.Struct, frozen=True, kw_only=True):
    """An amount to add to one figure (`metric`, `key`) of one local day (the set's shard is
    `Rows.rollup_shard`)."""

    metric: str
    day: date
    key: str
    value: Decimal


class ActivityRow(msgspec.Struct, frozen=True, kw_only=True):
    """A local day on which a member was active (an accepted event occurred)."""

    member_id: str
    day: date


def shard_of(member_ids: Iterable[str]) -> int:
    """The shard a set writes: from its first member id (stable, so a replay is repeatable)."""
    first = min(member_ids, default="")
    return zlib.crc32(first.encode()) % SHARDS


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


class _Deltas:
    __slots__ = ("total", "tz")

    def __init__(self, tz: str) -> None:
        self.tz = tz
        self.total: dict[tuple[str, date, str], Decimal] = defaultdict(Decimal)

    def local(self, at: datetime) -> date:
        return local_date(at, self.tz)

    def add(self, metric: str, at: datetime | date, key: str, value: int | Decimal) -> None:
        day = at if not isinstance(at, datetime) else self.local(at)
        self.total[(metric, day, key)] += value

    def rows(self) -> list[RollupRow]:
        return [
            RollupRow(metric=m, day=d, key=k, value=v)
            for (m, d, k), v in sorted(self.total.items())
            if v
        ]


# the kinds that also move the opposite amount in a second balance (core.entries)
_COUNTERPART = {"activate": "pending", "hold": "held", "release": "held"}


def _entries(out: _Deltas, entries: Iterable[EntryRow], rewards: dict[str, str]) -> None:
    spent_on: set[tuple[date, str, str]] = set()
    for e in entries:
        out.add(e.balance, e.at, "", e.points)
        counterpart = _COUNTERPART.get(e.kind)
        if counterpart is not None:
            # activate: pending -= points; hold: held -= points (points < 0); release: held -=
            out.add(counterpart, e.at, "", -e.points)
        if e.kind == "earn":
            out.add("earned", e.at, e.rule_id or "", e.points)
        elif e.kind == "spend":
            reward = rewards.get(e.redemption_id or "", "")
            out.add("spent", e.at, reward, -e.points)
            spent_on.add((out.local(e.at), reward, e.redemption_id or ""))
        elif e.kind == "expire":
            out.add("expired", e.at, "", -e.points)
        elif e.kind == "reverse" and e.balance != "debt":
            out.add("reversed", e.at, "", -e.points)
        elif e.kind == "adjust" and e.balance == "available":
            out.add("adjusted", e.at, "", e.points)
    for day, reward, _ in spent_on:
        out.add("redemptions", day, reward, 1)


def _open(lot: Lot) -> int:
    """The points of a lot that its expiry date will take unless spent."""
    if lot.expires_at is None or lot.state == "expired":
        return 0
    return max(lot.remaining, 0)


def _expiring(out: _Deltas, before: MemberState, after: MemberState) -> None:
    """The change of the open lots' points per expiry month: only the lots the decision
    changed are dated (a lot it did not carry on is not rewritten by the save)."""
    if before.lots == after.lots:
        return
    old = {lot.lot_id: lot for lot in before.lots}
    for lot in after.lots:
        was = old.get(lot.lot_id)
        if was == lot:
            continue
        if was is not None and was.expires_at is not None and _open(was):
            out.add("expiring", month_of(out.local(was.expires_at)), "", -_open(was))
        if lot.expires_at is not None and _open(lot):
            out.add("expiring", month_of(out.local(lot.expires_at)), "", _open(lot))


def _purchases(
    out: _Deltas, before: MemberState, after: MemberState, days: dict[str, date]
) -> None:
    for order_id, order in after.orders.items():
        if order_id in before.orders:
            continue
        day = days.get(order.purchase_event_id)
        if day is None:
            continue  # the purchase was booked earlier (the load read it): counted then
        out.add("purchases", day, "", 1)
        out.add("purchase_amount", day, "", order.amount)


def _move_key(source: str | None, target: str | None) -> str:
    return f"{source or ''}>{target or ''}"


def _tier_moves(out: _Deltas, lines: Iterable[TierMoveRow]) -> None:
    """Tier moves per day (members per tier: `_tier_members`)."""
    for m in lines:
        if m.from_tier != m.to_tier:
            out.add("tier_moves", m.at, _move_key(m.from_tier, m.to_tier), 1)


def _tier_members(out: _Deltas, before: MemberState, after: MemberState) -> None:
    """Members per tier, as a running total only (a member's first tier has no history
    line to date it): on one fixed day."""
    old, new = before.tier.tier, after.tier.tier
    if old == new:
        return
    if old is not None:
        out.add("tier_members", TOTALS_DAY, old, -1)
    if new is not None:
        out.add("tier_members", TOTALS_DAY, new, 1)


def _engagement_moves(out: _Deltas, lines: Iterable[EngagementMoveRow]) -> None:
    """Members per engagement level as amounts to add on the day of each move (every level
    a member ever had has its history line), and the moves themselves."""
    for m in lines:
        if m.from_level == m.to_level:
            continue
        if m.from_level is not None:
            out.add("engagement_members", m.at, m.from_level, -1)
        out.add("engagement_members", m.at, m.to_level, 1)
        out.add("engagement_moves", m.at, _move_key(m.from_level, m.to_level), 1)


def rollup_rows(
    rows: Rows, before: dict[str, MemberState], after: dict[str, MemberState], tz: str
) -> list[RollupRow]:
    """The figures a decision's rows add, merged per (metric, day, key), on the local days
    of zone `tz` (the program's)."""
    out = _Deltas(tz)
    rewards = {
        rid: r.reward_id or "" for member in after.values() for rid, r in member.redemptions.items()
    }
    _entries(out, rows.entries, rewards)
    days = {e.event_id: out.local(e.occurred_at) for e in rows.events}
    for member_id, new in after.items():
        old = before[member_id]
        if old is not new:
            _expiring(out, old, new)
            _purchases(out, old, new, days)
            _tier_members(out, old, new)
    _tier_moves(out, rows.tier_moves)
    _engagement_moves(out, rows.engagement_moves)
    for x in rows.exposures:
        key = f"{x.experiment_id}/{x.arm}"
        out.add("exposures", x.at, key, 1)
        out.add("exposure_points", x.at, key, x.points)
    return out.rows()


def activity_rows(rows: Rows, tz: str) -> list[ActivityRow]:
    """Each (member, local day of zone `tz`) on which the set's accepted events occurred, once."""
    seen = sorted({(e.member_id, local_date(e.occurred_at, tz)) for e in rows.events})
    return [ActivityRow(member_id=m, day=d) for m, d in seen]
