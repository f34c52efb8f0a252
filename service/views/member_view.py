"""What a member (or a server) reads: balances as of now, pending and expiring points, history."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

import msgspec

from service.core.cursors import position_before
from service.core.ledger import mature
from service.decide.answers import BalancesView, balances_view
from service.errors import NotFound
from service.runtime import Runtime
from service.store import ledger as ledger_store
from service.store import members as member_store
from service.views.engagement_view import EngagementShown, engagement_shown
from service.views.progress_view import (
    StreakView,
    TierView,
    member_progress,
    member_progress_read,
)

__all__ = ["LedgerEntryView", "LedgerPage", "MemberView", "ledger_page", "member_view"]

EXPIRING_WINDOW = timedelta(days=30)


class PendingPoints(msgspec.Struct, kw_only=True):
    """Points in their return window, and when they become spendable."""

    points: int
    activates_at: datetime
    lot_id: str


class ExpiringPoints(msgspec.Struct, kw_only=True):
    """Available points that expire within 30 days."""

    points: int
    expires_at: datetime
    lot_id: str


class MemberView(msgspec.Struct, kw_only=True):
    """A member's profile and balances as of now (correct even before the worker runs)."""

    member_id: str
    display_name: str | None
    timezone: str | None
    birthday: date | None
    hidden: bool
    attributes: dict[str, Any]
    balances: BalancesView
    pending: list[PendingPoints]
    expiring_soon: list[ExpiringPoints]
    expiring_points_30_days: int
    badges: list[str]
    as_of: datetime
    tier: TierView | None = None
    """The tier as of now: since when, the next tier and what is missing, when it lapses."""
    streaks: list[StreakView] = []
    engagement: EngagementShown | None = None
    """The engagement score and level as of now, its components, what would raise it most."""


class LedgerEntryView(msgspec.Struct, kw_only=True):
    """One ledger entry with its explanation: what moved, which balance, and why."""

    entry_no: int
    kind: str
    balance: str
    points: int
    reason: str
    at: datetime
    recorded_at: datetime
    lot_id: str | None
    event_id: str | None
    rule_id: str | None
    ruleset_version: str | None
    redemption_id: str | None
    order_id: str | None
    actor: str | None


class LedgerPage(msgspec.Struct, kw_only=True):
    """Entries newest first; pass `next_cursor` as `cursor` for the next page."""

    entries: list[LedgerEntryView]
    next_cursor: str | None


async def member_view(runtime: Runtime, member_id: str) -> MemberView:
    """The member as of now; NotFound for a member never seen."""
    now = runtime.clock.now()
    async with runtime.db.connection() as conn:
        ruleset = runtime.rules.current
        # One round trip: the state, the profile and the game state.
        state = await ledger_store.load_state(
            conn, member_id, with_profile=True, game=member_progress_read(ruleset, now)
        )
    profile = state.profile
    if profile is None or state.game is None:
        raise NotFound(f"no member '{member_id}'", field="member_id")
    tier, streaks = member_progress(ruleset, state.game, profile.timezone, now)
    current = mature(state.lots, state.balances, now)
    lots = [lot for lot in current.lots if lot.remaining > 0]
    pending = [
        PendingPoints(points=lot.remaining, activates_at=lot.activates_at, lot_id=lot.lot_id)
        for lot in lots
        if lot.state == "pending"
    ]
    expiring = [
        ExpiringPoints(points=lot.remaining, expires_at=lot.expires_at, lot_id=lot.lot_id)
        for lot in lots
        if lot.state == "available"
        and lot.expires_at is not None
        and lot.expires_at <= now + EXPIRING_WINDOW
    ]
    return MemberView(
        member_id=member_id,
        display_name=profile.display_name,
        timezone=profile.timezone,
        birthday=profile.birthday,
        hidden=profile.hidden,
        attributes=dict(profile.attributes),
        balances=balances_view(current.balances),
        pending=pending,
        expiring_soon=sorted(expiring, key=lambda e: e.expires_at),
        expiring_points_30_days=sum(e.points for e in expiring),
        badges=sorted(state.badges),
        tier=tier,
        streaks=streaks,
        engagement=engagement_shown(ruleset, state.game.engagement_days, now),
        as_of=now,
    )


Limit = Annotated[int, msgspec.Meta(ge=1, le=200)]


async def ledger_page(
    runtime: Runtime, member_id: str, limit: int, cursor: str | None
) -> LedgerPage:
    """A page of the member's ledger, newest first."""
    before = position_before(cursor)
    async with runtime.db.connection() as conn:
        if await member_store.fetch_member(conn, member_id) is None:
            raise NotFound(f"no member '{member_id}'", field="member_id")
        rows = await ledger_store.fetch_entries(conn, member_id, before, limit + 1)
    entries = [LedgerEntryView(**msgspec.structs.asdict(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return LedgerPage(entries=entries, next_cursor=str(entries[-1].entry_no) if more else None)
