"""Reading the reward catalog and a member's redemptions."""

from __future__ import annotations

import contextlib

import msgspec

from service.errors import InvalidInput, NotFound
from service.operations.holds import release_due_holds
from service.runtime import Runtime
from service.store import members as member_store
from service.store import redemptions as store
from service.views.redemption_view import RedemptionPage, member_of, redemption_of

__all__ = ["Catalog", "RewardView", "catalog", "list_redemptions"]


class RewardView(msgspec.Struct, kw_only=True):
    """A reward members can spend points on."""

    id: str
    name: str
    cost: int
    """Points it costs."""
    stock: int | None
    """Units the program offers in all (null: unlimited)."""
    stock_left: int | None
    """Units not handed out or held yet (null: unlimited)."""
    per_member_limit: int | None
    """How many times one member may redeem it (held and committed count; null: no limit)."""
    coupon: bool
    """Whether redeeming it issues a coupon code."""


class Catalog(msgspec.Struct, kw_only=True):
    """The active ruleset's rewards."""

    ruleset_version: str
    rewards: list[RewardView]


async def catalog(runtime: Runtime) -> Catalog:
    """The rewards of the ruleset in force, with the stock left of each."""
    ruleset = runtime.rules.current
    async with runtime.db.connection() as conn:
        issued = await store.stock_issued(conn)
    return Catalog(
        ruleset_version=ruleset.version,
        rewards=[
            RewardView(
                id=reward.id,
                name=reward.name,
                cost=reward.cost,
                stock=reward.stock,
                stock_left=None
                if reward.stock is None
                else max(0, reward.stock - issued.get(reward.id, 0)),
                per_member_limit=reward.per_member_limit,
                coupon=reward.coupon is not None,
            )
            for reward in ruleset.program.rewards
        ],
    )


async def list_redemptions(
    runtime: Runtime, member_id: str, limit: int, cursor: str | None
) -> RedemptionPage:
    """The member's redemptions, newest first; timed-out holds are released before listing."""
    now = runtime.clock.now()
    async with runtime.db.connection() as conn:
        if await member_store.fetch_member(conn, member_id) is None:
            raise NotFound(f"no member '{member_id}'", field="member_id")
        before = None
        if cursor is not None:
            row = None
            with contextlib.suppress(NotFound):
                if member_of(cursor) == member_id:
                    row = await store.fetch(conn, member_id, cursor)
            if row is None:
                raise InvalidInput("cursor is not one this API gave out", field="cursor")
            before = (row.created_at, row.redemption_id)
        rows = await store.page(conn, member_id, before, limit + 1)
    if any(
        r.status == "held" and r.hold_expires_at is not None and r.hold_expires_at <= now
        for r in rows
    ):
        await release_due_holds(runtime, member_id, now)
        async with runtime.db.connection() as conn:
            rows = await store.page(conn, member_id, before, limit + 1)
    items = [redemption_of(row) for row in rows[:limit]]
    more = len(rows) > limit
    return RedemptionPage(redemptions=items, next_cursor=items[-1].id if more else None)
