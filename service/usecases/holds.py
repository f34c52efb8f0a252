"""Settling holds: commit, cancel, and the release of holds whose timeout passed.

Every operation on a member first releases that member's timed-out holds (`open_member`), so a
hold never outlives its timeout by more than the member's next operation or the background
worker's next pass (`release_expired_holds`), whichever comes first. A released hold gives back
its points (to the lots it drew from), its unit of stock and its coupon code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.core.ledger import commit_hold, release
from service.engine import Ruleset
from service.errors import Conflict, DomainError, NotFound
from service.services import Services
from service.store import ledger as ledger_store
from service.store import redemptions as store
from service.store.database import Connection
from service.usecases.booking import Ledgerbook, _policy, balances_view
from service.usecases.redemption_view import (
    RedemptionResult,
    RedemptionStatus,
    hold_of,
    member_of,
    result_of,
)

__all__ = ["cancel", "commit", "open_member", "release_expired_holds"]


async def open_member(
    conn: Connection,
    ruleset: Ruleset,
    member_id: str,
    now: datetime,
    also: Sequence[Any] = (),
) -> tuple[Ledgerbook, set[str]]:
    """With the member locked: a ledger book as of now, after releasing the member's timed-out
    holds; answers the released redemption ids. `also`: redemption rows whose lots are needed."""
    expired = await store.expired_holds(conn, member_id, now)
    lot_ids = [draw["lot_id"] for row in (*expired, *also) for draw in row["draws"]]
    state = await ledger_store.load_state(conn, member_id, (), lot_ids)
    book = Ledgerbook(state, now)
    minutes = ruleset.program.points.hold_timeout_minutes
    for row in expired:
        reason = f"hold released: not committed within {minutes} minutes"
        await give_back(conn, ruleset, book, row, "expired", reason, now)
    return book, {row["redemption_id"] for row in expired}


async def give_back(
    conn: Connection,
    ruleset: Ruleset,
    book: Ledgerbook,
    row: Any,
    status: RedemptionStatus,
    reason: str,
    now: datetime,
) -> None:
    """Release a held redemption: points back to their lots, stock and coupon code back."""
    book.take(
        release(
            book.lots, book.balances, hold_of(row), now=now, policy=_policy(ruleset), reason=reason
        )
    )
    await store.settle(conn, row["member_id"], row["redemption_id"], status, now)
    if row["reward_id"] is not None:
        await store.return_stock(conn, row["reward_id"])
        if row["coupon_code"] is not None:
            await store.return_code(
                conn, row["reward_id"], row["coupon_code"], row["redemption_id"]
            )


async def release_expired_holds(services: Services, now: datetime, limit: int = 100) -> int:
    """Release up to about `limit` timed-out holds, one transaction per member; how many.

    Safe with several replicas: rows another transaction is settling are skipped, and each
    member's holds are re-read under the member's lock. A member someone else has locked (an
    event being booked) is skipped, as the other worker passes do, instead of queueing behind
    it: the next pass, or the member's next redemption operation, releases the hold."""
    async with services.db.transaction() as conn:
        member_ids = await store.find_expired_holds(conn, now, limit)
    released = 0
    for member_id in member_ids:
        async with services.db.transaction() as conn:
            if not await ledger_store.try_lock_member(conn, member_id):
                continue
            book, gone = await open_member(conn, services.rules.current, member_id, now)
            await book.write(conn, member_id)
        released += len(gone)
    return released


async def commit(services: Services, redemption_id: str, actor: str | None) -> RedemptionResult:
    """Spend a held redemption's points; Conflict `hold_expired` after its timeout (the hold is
    released), `redemption_cancelled` for a cancelled one; a committed one is answered again."""
    return await _settle(services, redemption_id, actor, "committed")


async def cancel(services: Services, redemption_id: str, actor: str | None) -> RedemptionResult:
    """Give a held redemption's points, stock and code back; Conflict `redemption_committed`
    for a committed one; a cancelled or expired one is answered again."""
    return await _settle(services, redemption_id, actor, "cancelled")


async def _settle(
    services: Services, redemption_id: str, actor: str | None, wanted: RedemptionStatus
) -> RedemptionResult:
    member_id = member_of(redemption_id)
    ruleset = services.rules.current
    now = services.clock.now()
    refusal: DomainError | None = None
    async with services.db.transaction() as conn:
        await ledger_store.lock_member(conn, member_id)
        row = await store.fetch(conn, member_id, redemption_id, for_update=True)
        if row is None:
            raise NotFound(
                f"no redemption '{redemption_id}'",
                field="redemption_id",
                code="unknown_redemption",
            )
        book, gone = await open_member(conn, ruleset, member_id, now, [row])
        status: RedemptionStatus = "expired" if redemption_id in gone else row["status"]
        changed = status == "held"
        if status == "held" and wanted == "committed":
            reason = "hold committed" + (
                f" for reward {row['reward_id']}" if row["reward_id"] else ""
            )
            book.take(commit_hold(book.lots, book.balances, hold_of(row), now=now, reason=reason))
            await store.settle(conn, member_id, redemption_id, "committed", now)
        elif status == "held":
            await give_back(conn, ruleset, book, row, "cancelled", "hold cancelled", now)
        else:
            refusal = _refusal(redemption_id, status, wanted)
        await book.write(conn, member_id, actor)
        row = await store.fetch(conn, member_id, redemption_id)
    if refusal is not None:  # raised after the commit, so a timed-out hold stays released
        raise refusal
    return result_of(row, balances_view(book.balances), replay=not changed)


def _refusal(
    redemption_id: str, status: RedemptionStatus, wanted: RedemptionStatus
) -> DomainError | None:
    if wanted == status or (wanted == "cancelled" and status == "expired"):
        return None
    if status == "expired":
        return Conflict(
            f"the hold {redemption_id} expired before it was committed; its points are back",
            field="redemption_id",
            code="hold_expired",
        )
    return Conflict(
        f"redemption {redemption_id} is already {status}",
        field="redemption_id",
        code=f"redemption_{status}",
    )
