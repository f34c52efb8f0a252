"""Tiers in the shell: load a member's tier and metric days, review them as of now, store moves.

Events review the locked member twice (lazily before evaluation, so rules read the tier in
force; then after booking, so an event that makes the member qualify upgrades them in the same
transaction). The worker reviews members whose tier lapsed (`review_tiers_due`), and reads
compute the tier as of now without writing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from service.core.tiers import TierMove, TierProgram, TierReview, TierState, review_tier
from service.decide.answers import TierMoveView, move_views
from service.services import Services
from service.store import ledger as ledger_store
from service.store import tiers as tier_store
from service.store.database import Connection
from service.store.game_reads import GameRead, read_game

__all__ = [
    "MemberTier",
    "TierMoveView",
    "load_tier",
    "local_day",
    "member_tier",
    "metric_rows",
    "metric_since",
    "move_views",
    "record_metrics",
    "review_tiers_due",
    "settle_tier",
    "tier_read",
]


class MemberTier(msgspec.Struct, kw_only=True):
    """A member's stored tier, the metric days read for it, and the review as of now."""

    stored: TierState
    days: dict[date, float]
    review: TierReview


def local_day(at: datetime, tz: str) -> date:
    """The local date of an instant in a time zone."""
    return at.astimezone(ZoneInfo(tz)).date()


def metric_since(program: TierProgram, now: datetime, event_day: date | None = None) -> date:
    """The first day of metric that a review at `now` (of an event on `event_day`) reads."""
    today = local_day(now, program.timezone)
    earliest = min(today, event_day) if event_day else today
    if program.rolling_days is None:
        return date(earliest.year, 1, 1)
    return today - timedelta(days=program.rolling_days - 1)


async def load_tier(
    conn: Connection,
    program: TierProgram,
    member_id: str,
    now: datetime,
    event_day: date | None = None,
) -> MemberTier:
    """The member's tier as stored and as reviewed at `now` (lapses applied, not yet stored)."""
    read = tier_read(program, now, event_day)
    rows = await read_game(conn, member_id, read)
    return member_tier(program, rows.tier, rows.metric_days, now)


def tier_read(program: TierProgram, now: datetime, event_day: date | None = None) -> GameRead:
    """What `read_game` reads for a tier review at `now`."""
    return GameRead(
        tier_metric=program.metric_key, metric_since=metric_since(program, now, event_day)
    )


def member_tier(
    program: TierProgram, stored: TierState, days: dict[date, float], now: datetime
) -> MemberTier:
    """The stored tier with its metric days, and the review as of `now`."""
    return MemberTier(stored=stored, days=days, review=review_tier(program, stored, days, now))


def metric_rows(
    at: datetime, tz: str, *, points: int, spend: Decimal, event_type: str | None
) -> list[tuple[str, date, Decimal]]:
    """The per-day metric amounts an event (or its correction) adds on its local day."""
    day = local_day(at, tz)
    rows = [("points_earned", day, Decimal(points)), ("spend", day, spend)]
    if event_type is not None:
        rows.append((f"count:{event_type}", day, Decimal(1)))
    return rows


async def record_metrics(
    conn: Connection,
    member_id: str,
    rows: list[tuple[str, date, Decimal]],
    tier: MemberTier | None,
    program: TierProgram | None,
) -> None:
    """Store metric amounts, and add the tier's own metric to the loaded days."""
    await tier_store.add_metrics(conn, member_id, rows)
    if tier is not None and program is not None:
        for metric, day, value in rows:
            if metric == program.metric_key:
                tier.days[day] = tier.days.get(day, 0.0) + float(value)


async def settle_tier(
    conn: Connection,
    program: TierProgram,
    member_id: str,
    tier: MemberTier,
    now: datetime,
    event_day: date | None = None,
) -> list[TierMove]:
    """Review again after the event's metrics and store the tier and every move made."""
    after = review_tier(program, tier.review.state, tier.days, now, event_day)
    moves = [*tier.review.moves, *after.moves]
    if after.state != tier.stored or moves:
        await tier_store.save_tier(conn, member_id, after.state, moves)
    return moves


async def review_tiers_due(services: Services, now: datetime, limit: int = 200) -> int:
    """Worker: store the downgrades of members whose tier lapsed by `now`; how many reviewed."""
    program = services.rules.current.program.tiers
    if program is None:
        return 0
    async with services.db.connection() as conn:
        due = await tier_store.members_due(conn, now, limit)
    done = 0
    for member_id in due:
        async with services.db.transaction() as conn:
            if not await ledger_store.try_lock_member(conn, member_id):
                continue  # an event is booking this member; it reviews the tier itself
            tier = await load_tier(conn, program, member_id, now)
            await settle_tier(conn, program, member_id, tier, now)
            done += 1
    return done
