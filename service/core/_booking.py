"""The working copy that ledger operations book entries into, checking invariants on close.

Private to `service.core.ledger`; see that module for the decisions it implements.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec
from msgspec.structs import replace

from service.core.entries import BalanceName, Balances, Entry, EntryKind, apply, replay, shape_error
from service.core.lots import Lot, becomes_available, fifo_key, state_at

__all__ = ["Book", "Change", "Draw", "Why", "why_of"]


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """What an operation did: all lots after it, the ones to write, entries to append, balances."""

    lots: tuple[Lot, ...]
    changed: tuple[Lot, ...]
    entries: tuple[Entry, ...]
    balances: Balances


class Draw(msgspec.Struct, frozen=True, kw_only=True):
    """Points a hold took from one lot."""

    lot_id: str
    points: int


class Why(msgspec.Struct, frozen=True, kw_only=True):
    """The event, rule and redemption an entry names."""

    event_id: str | None = None
    rule_id: str | None = None
    ruleset_version: str | None = None
    redemption_id: str | None = None
    order_id: str | None = None


def why_of(lot: Lot) -> Why:
    """Entries about a lot name the event and rule that earned it."""
    return Why(
        event_id=lot.event_id,
        rule_id=lot.rule_id,
        ruleset_version=lot.ruleset_version,
        order_id=lot.order_id,
    )


def check_lots_match(lots: Iterable[Lot], balances: Balances) -> None:
    """Lots hold exactly the available and pending balances; nothing below zero."""
    counted = {"pending": 0, "available": 0, "expired": 0}
    for lot in lots:
        assert 0 <= lot.remaining <= lot.points, f"lot {lot.lot_id} remaining {lot.remaining}"
        counted[lot.state] += lot.remaining
    assert counted["expired"] == 0, "an expired lot kept points"
    assert counted["available"] == balances.available, (counted, balances)
    assert counted["pending"] == balances.pending, (counted, balances)
    assert min(balances.available, balances.pending, balances.held, balances.debt) >= 0, balances
    assert balances.debt == 0 or balances.available == 0, f"debt left unpaid: {balances}"


def _balance_of(lot: Lot) -> BalanceName:
    assert lot.state != "expired", f"lot {lot.lot_id} has expired"
    return lot.state


class Book:
    """A working copy of one member's lots and balances that entries are booked into."""

    def __init__(self, lots: Iterable[Lot], balances: Balances, now: datetime) -> None:
        self.now = now
        self.start = balances
        self.balances = balances
        self.lots: dict[str, Lot] = {}
        for lot in lots:
            assert lot.lot_id not in self.lots, f"lot {lot.lot_id} given twice"
            self.lots[lot.lot_id] = lot
        assert len({lot.member_id for lot in self.lots.values()}) <= 1, "lots of two members"
        self.entries: list[Entry] = []
        self.changed: dict[str, None] = {}
        check_lots_match(self.lots.values(), balances)
        for lot in sorted(self.lots.values(), key=fifo_key):
            self.advance(lot.lot_id)

    def put(self, lot: Lot) -> None:
        self.lots[lot.lot_id] = lot
        self.changed[lot.lot_id] = None

    def book(
        self,
        kind: EntryKind,
        balance: BalanceName,
        points: int,
        lot_id: str | None,
        reason: str,
        why: Why,
        at: datetime | None = None,
    ) -> None:
        entry = Entry(
            kind=kind,
            points=points,
            balance=balance,
            lot_id=lot_id,
            reason=reason,
            at=at if at is not None else self.now,
            **msgspec.structs.asdict(why),
        )
        assert points != 0 and shape_error(entry) is None, entry
        self.entries.append(entry)
        self.balances = apply(self.balances, entry)

    def available_lots(self) -> list[Lot]:
        lots = self.lots.values()
        return sorted((x for x in lots if x.state == "available" and x.remaining), key=fifo_key)

    def take(self, lot: Lot, points: int, kind: EntryKind, reason: str, why: Why) -> None:
        assert 0 < points <= lot.remaining and lot.state != "expired", (lot, points)
        self.put(replace(lot, remaining=lot.remaining - points))
        self.book(kind, _balance_of(lot), -points, lot.lot_id, reason, why)

    def draw_fifo(self, points: int, kind: EntryKind, reason: str, why: Why) -> list[Draw]:
        """Take up to `points` from available lots, oldest first."""
        draws: list[Draw] = []
        for lot in self.available_lots():
            if points == 0:
                break
            taken = min(points, lot.remaining)
            self.take(lot, taken, kind, reason, why)
            draws.append(Draw(lot_id=lot.lot_id, points=taken))
            points -= taken
        return draws

    def settle_debt(self, why: Why) -> None:
        """Repay debt from points that just became available."""
        for lot in self.available_lots():
            owed = min(self.balances.debt, lot.remaining)
            if owed == 0:
                break
            self.take(lot, owed, "reverse", "repays debt", why)
            self.book("reverse", "debt", -owed, None, f"debt repaid from lot {lot.lot_id}", why)

    def advance(self, lot_id: str) -> None:
        """Book what the clock has done to one lot: activation, debt repayment, expiry."""
        lot = self.lots[lot_id]
        if lot.remaining == 0:
            return  # an empty lot moves no points; its state is read from the clock
        why = why_of(lot)
        if lot.state == "pending" and becomes_available(lot) and lot.activates_at <= self.now:
            self.put(replace(lot, state="available"))
            reason = "return window passed"
            self.book("activate", "available", lot.remaining, lot_id, reason, why, lot.activates_at)
            self.settle_debt(why)
            lot = self.lots[lot_id]
        if lot.remaining and lot.expires_at is not None and lot.expires_at <= self.now:
            self.put(replace(lot, remaining=0, state="expired"))
            balance = _balance_of(lot)
            reason = f"expired from {balance}"
            self.book("expire", balance, -lot.remaining, lot_id, reason, why, lot.expires_at)

    def close(self) -> Change:
        lots = tuple(self.lots.values())
        check_lots_match(lots, self.balances)
        for lot in lots:
            assert lot.remaining == 0 or lot.state == state_at(lot, self.now), lot
        assert replay(self.entries, self.start) == self.balances
        return Change(
            lots=lots,
            changed=tuple(self.lots[lot_id] for lot_id in self.changed),
            entries=tuple(self.entries),
            balances=self.balances,
        )
