"""The pure lot ledger: values in, values out; `now` is always a parameter.

Every operation takes a member's lots (all of them with points left, plus any lot a hold drew
from) and balances, first books what the clock has done to them (`mature`), then returns a
`Change`: the new lots, the lots it created or modified, the entries to append and the new
balances. Broken invariants are assertions; expected refusals are domain errors.

Decisions:
- A negative balance is `Balances.debt` (available never goes below zero). Debt is repaid from
  the first points that become available (earn, activation, admin add, release), so debt > 0
  implies available == 0.
- A hold takes points out of its lots at once (FIFO, recorded in `Hold.draws`); committing spends
  exactly those draws; releasing re-credits the same lots, or, for a lot that expired meanwhile,
  a new lot `<lot_id>@<redemption_id>` available now with the program's expiry from now.
- A refund takes from its purchase's own lots first (pending or available), then from other
  available lots oldest first (like a spend), then books debt or forgives the rest.
- Activate and expire entries are dated when they took effect (the lot's activates_at or
  expires_at), every other entry at `now`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec
from msgspec.structs import replace

from service.core._booking import Book, Change, Draw, Why, why_of
from service.core.entries import (
    BalanceName,
    Balances,
    Entry,
    EntryKind,
    apply,
    replay,
    verify,
)
from service.core.lots import (
    ExpiryPolicy,
    Lot,
    LotState,
    becomes_available,
    expiry_for,
    fifo_key,
    pending_until,
    state_at,
)

__all__ = [
    "BalanceName",
    "Balances",
    "Change",
    "Draw",
    "Entry",
    "EntryKind",
    "ExpiryPolicy",
    "Hold",
    "HoldExpired",
    "HoldPlaced",
    "InsufficientPoints",
    "Lot",
    "LotState",
    "Reversal",
    "adjust",
    "apply",
    "commit_hold",
    "earn",
    "expiry_for",
    "fifo_key",
    "forfeit",
    "hold",
    "mature",
    "pending_until",
    "release",
    "released_lot_id",
    "replay",
    "reversal_due",
    "reverse_order",
    "spend",
    "state_at",
    "verify",
    "view",
]


class InsufficientPoints(Exception):
    """More points were asked for than the member has available."""

    def __init__(self, requested: int, available: int) -> None:
        super().__init__(f"requested {requested} points, {available} available")
        self.requested = requested
        self.available = available


class HoldExpired(Exception):
    """A hold was committed after its timeout; it can only be released."""

    def __init__(self, redemption_id: str, expired_at: datetime) -> None:
        super().__init__(f"hold {redemption_id} expired at {expired_at.isoformat()}")
        self.redemption_id = redemption_id
        self.expired_at = expired_at


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    """Points reserved for a redemption until `expires_at`, and the lots they came from."""

    redemption_id: str
    points: int
    draws: tuple[Draw, ...]
    placed_at: datetime
    expires_at: datetime


class HoldPlaced(msgspec.Struct, frozen=True, kw_only=True):
    """The result of `hold`: the change and the hold to keep until commit or release."""

    change: Change
    hold: Hold


class Reversal(msgspec.Struct, frozen=True, kw_only=True):
    """The result of `reverse_order`: `reversed` includes any debt booked; `forgiven` was not."""

    change: Change
    reversed: int
    forgiven: int


def mature(lots: Iterable[Lot], balances: Balances, now: datetime) -> Change:
    """Activate lots whose return window passed and expire lots whose expiry passed, as of now."""
    return Book(lots, balances, now).close()


def view(lots: Iterable[Lot], balances: Balances, now: datetime) -> Balances:
    """The balances as of `now`, correct even before the background worker has run `mature`."""
    return mature(lots, balances, now).balances


def earn(
    lots: Iterable[Lot],
    balances: Balances,
    *,
    member_id: str,
    points: int,
    lot_id: str,
    now: datetime,
    occurred_at: datetime,
    pending_until: datetime,
    expires_at: datetime | None,
    reason: str,
    event_id: str | None = None,
    rule_id: str | None = None,
    ruleset_version: str | None = None,
    order_id: str | None = None,
) -> Change:
    """A new lot earned at `occurred_at`: pending until `pending_until`, then available.

    A late event's lot may be born already available or already expired.
    """
    assert points > 0, f"earn needs points > 0, got {points}"
    book = Book(lots, balances, now)
    assert lot_id not in book.lots, f"lot {lot_id} exists"
    lot = Lot(
        lot_id=lot_id,
        member_id=member_id,
        earned_at=occurred_at,
        activates_at=pending_until,
        expires_at=expires_at,
        points=points,
        remaining=points,
        state="pending",
        event_id=event_id,
        rule_id=rule_id,
        ruleset_version=ruleset_version,
        order_id=order_id,
    )
    born: BalanceName = "pending"
    if becomes_available(lot) and lot.activates_at <= now:
        born = "available"
        lot = replace(lot, state=born)
    book.put(lot)
    book.book("earn", born, points, lot_id, reason, why_of(lot))
    if born == "available":
        book.settle_debt(why_of(lot))
    book.advance(lot_id)
    return book.close()


def spend(
    lots: Iterable[Lot],
    balances: Balances,
    *,
    points: int,
    now: datetime,
    reason: str,
    redemption_id: str | None = None,
    event_id: str | None = None,
) -> Change:
    """Spend available points, oldest lot first; InsufficientPoints if there are not enough."""
    assert points > 0, f"spend needs points > 0, got {points}"
    book = Book(lots, balances, now)
    if points > book.balances.available:
        raise InsufficientPoints(points, book.balances.available)
    book.draw_fifo(points, "spend", reason, Why(event_id=event_id, redemption_id=redemption_id))
    return book.close()


def hold(
    lots: Iterable[Lot],
    balances: Balances,
    *,
    points: int,
    redemption_id: str,
    now: datetime,
    expires_at: datetime,
    reason: str,
    event_id: str | None = None,
) -> HoldPlaced:
    """Reserve available points until `expires_at`, taking them out of the oldest lots now."""
    assert points > 0, f"hold needs points > 0, got {points}"
    assert expires_at > now, "a hold must expire after it is placed"
    book = Book(lots, balances, now)
    if points > book.balances.available:
        raise InsufficientPoints(points, book.balances.available)
    why = Why(event_id=event_id, redemption_id=redemption_id)
    draws = book.draw_fifo(points, "hold", reason, why)
    placed = Hold(
        redemption_id=redemption_id,
        points=points,
        draws=tuple(draws),
        placed_at=now,
        expires_at=expires_at,
    )
    return HoldPlaced(change=book.close(), hold=placed)


def commit_hold(
    lots: Iterable[Lot],
    balances: Balances,
    held: Hold,
    *,
    now: datetime,
    reason: str,
    event_id: str | None = None,
) -> Change:
    """Spend exactly the points a hold reserved, from the lots it drew; HoldExpired if too late."""
    if now >= held.expires_at:
        raise HoldExpired(held.redemption_id, held.expires_at)
    book = Book(lots, balances, now)
    assert book.balances.held >= held.points, f"hold {held.redemption_id} is not held"
    why = Why(event_id=event_id, redemption_id=held.redemption_id)
    for draw in held.draws:
        book.book("spend", "held", -draw.points, draw.lot_id, reason, why)
    return book.close()


def released_lot_id(lot_id: str, redemption_id: str) -> str:
    """The id of the lot that takes back a released hold's points when `lot_id` has expired."""
    return f"{lot_id}@{redemption_id}"


def release(
    lots: Iterable[Lot],
    balances: Balances,
    held: Hold,
    *,
    now: datetime,
    policy: ExpiryPolicy,
    reason: str,
    event_id: str | None = None,
) -> Change:
    """Return a hold's points to the lots it drew from (a new lot for one expired meanwhile)."""
    book = Book(lots, balances, now)
    assert book.balances.held >= held.points, f"hold {held.redemption_id} is not held"
    why = Why(event_id=event_id, redemption_id=held.redemption_id)
    for draw in held.draws:
        lot = book.lots.get(draw.lot_id)
        assert lot is not None, f"release needs lot {draw.lot_id}"
        if state_at(lot, now) == "expired":
            lot = replace(
                lot,
                lot_id=released_lot_id(lot.lot_id, held.redemption_id),
                earned_at=now,
                activates_at=now,
                expires_at=expiry_for(now, policy),
                points=draw.points,
                remaining=draw.points,
                state="available",
            )
            assert lot.lot_id not in book.lots, f"lot {lot.lot_id} exists"
        else:
            lot = replace(lot, remaining=lot.remaining + draw.points)
        book.put(lot)
        book.book("release", "available", draw.points, lot.lot_id, reason, why)
    book.settle_debt(why)
    return book.close()


def reversal_due(
    *, earned: int, purchase_amount: int, refunded_total: int, already_reversed: int
) -> int:
    """Points a refund reverses: floor(earned * refunded_total / purchase_amount) less earlier ones.

    Amounts are in minor units; `refunded_total` includes this refund and `already_reversed`
    counts earlier refunds' reversed and forgiven points, so partial refunds add up exactly.
    """
    assert purchase_amount > 0 and refunded_total >= 0 and earned >= 0 and already_reversed >= 0
    target = earned * min(refunded_total, purchase_amount) // purchase_amount
    return max(0, target - already_reversed)


def reverse_order(
    lots: Iterable[Lot],
    balances: Balances,
    *,
    order_id: str,
    points: int,
    allow_negative: bool,
    now: datetime,
    reason: str,
    event_id: str | None = None,
    rule_id: str | None = None,
    ruleset_version: str | None = None,
) -> Reversal:
    """Reverse `points` a purchase earned: its own lots, oldest available, then debt or nothing."""
    assert points >= 0, f"reverse needs points >= 0, got {points}"
    book = Book(lots, balances, now)
    why = Why(
        event_id=event_id, rule_id=rule_id, ruleset_version=ruleset_version, order_id=order_id
    )
    left = points
    own = (lot for lot in book.lots.values() if lot.order_id == order_id and lot.remaining)
    for lot in sorted(own, key=fifo_key):
        taken = min(left, lot.remaining)
        if taken:
            book.take(lot, taken, "reverse", reason, why)
            left -= taken
    left -= sum(draw.points for draw in book.draw_fifo(left, "reverse", reason, why))
    forgiven = 0
    if left and allow_negative:
        book.book("reverse", "debt", left, None, reason, why)
    else:
        forgiven = left
    return Reversal(change=book.close(), reversed=points - forgiven, forgiven=forgiven)


def adjust(
    lots: Iterable[Lot],
    balances: Balances,
    *,
    member_id: str,
    points: int,
    now: datetime,
    policy: ExpiryPolicy,
    allow_negative: bool,
    reason: str,
    lot_id: str | None = None,
    event_id: str | None = None,
) -> Change:
    """An admin correction: add a new lot available now (needs `lot_id`) or remove oldest first.

    A removal beyond what is available is InsufficientPoints unless the program allows debt.
    """
    assert points != 0, "adjust needs points != 0"
    book = Book(lots, balances, now)
    why = Why(event_id=event_id)
    if points > 0:
        assert lot_id is not None and lot_id not in book.lots, (
            f"adjust needs a new lot_id: {lot_id}"
        )
        lot = Lot(
            lot_id=lot_id,
            member_id=member_id,
            earned_at=now,
            activates_at=now,
            expires_at=expiry_for(now, policy),
            points=points,
            remaining=points,
            state="available",
            event_id=event_id,
        )
        book.put(lot)
        book.book("adjust", "available", points, lot_id, reason, why)
        book.settle_debt(why)
        return book.close()
    wanted = -points
    if wanted > book.balances.available and not allow_negative:
        raise InsufficientPoints(wanted, book.balances.available)
    short = wanted - sum(draw.points for draw in book.draw_fifo(wanted, "adjust", reason, why))
    if short:
        book.book("adjust", "debt", short, None, reason, why)
    return book.close()


def forfeit(lots: Iterable[Lot], balances: Balances, now: datetime, reason: str) -> Change:
    """Close every lot with points left, pending or available, by an `expire` entry that says
    why (a member erased at their request). Held points are not lots' to give: release or
    commit holds first. Debt stays booked."""
    book = Book(lots, balances, now)
    for lot in sorted(book.lots.values(), key=fifo_key):
        if lot.remaining and lot.state != "expired":
            balance: BalanceName = "pending" if lot.state == "pending" else "available"
            book.put(replace(lot, remaining=0, state="expired"))
            book.book("expire", balance, -lot.remaining, lot.lot_id, reason, why_of(lot))
    return book.close()
