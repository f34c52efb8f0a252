"""Ledger entries and the balances they add up to.

An entry's `points` is the signed change to the balance it names (`balance`). Three kinds move
points between two balances and also move the opposite amount in their counterpart:

| kind     | balance            | sign | counterpart      | lifetime            |
|----------|--------------------|------|------------------|---------------------|
| earn     | pending, available | +    |                  | earned += points    |
| activate | available          | +    | pending -= points|                     |
| spend    | available, held    | -    |                  | spent -= points     |
| expire   | pending, available | -    |                  |                     |
| reverse  | pending, available | -    |                  |                     |
| reverse  | debt               | +/-  |                  |                     |
| adjust   | available          | +/-  |                  | earned += points>0  |
| adjust   | debt               | +    |                  |                     |
| hold     | available          | -    | held -= points   |                     |
| release  | available          | +    | held -= points   |                     |

`debt` holds points that a refund or an admin removal took beyond what the lots had (only when the
program allows a negative balance); the member's net balance is `available - debt`, and
`available` itself never goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

import msgspec

__all__ = [
    "BalanceName",
    "Balances",
    "Entry",
    "EntryKind",
    "apply",
    "replay",
    "shape_error",
    "verify",
]

EntryKind = Literal["earn", "activate", "spend", "expire", "reverse", "adjust", "hold", "release"]
BalanceName = Literal["available", "pending", "held", "debt"]


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One appended, never-updated ledger line: `points` is the signed change to `balance`."""

    kind: EntryKind
    points: int
    balance: BalanceName
    lot_id: str | None
    reason: str
    at: datetime
    event_id: str | None = None
    rule_id: str | None = None
    ruleset_version: str | None = None
    redemption_id: str | None = None
    order_id: str | None = None


class Balances(msgspec.Struct, frozen=True, kw_only=True):
    """A member's balances; each equals the sum of the member's entries (see `verify`)."""

    available: int = 0
    pending: int = 0
    held: int = 0
    debt: int = 0
    lifetime_earned: int = 0
    lifetime_spent: int = 0


_SIGNS: dict[tuple[EntryKind, BalanceName], tuple[int, ...]] = {
    ("earn", "pending"): (1,),
    ("earn", "available"): (1,),
    ("activate", "available"): (1,),
    ("spend", "available"): (-1,),
    ("spend", "held"): (-1,),
    ("expire", "pending"): (-1,),
    ("expire", "available"): (-1,),
    ("reverse", "pending"): (-1,),
    ("reverse", "available"): (-1,),
    ("reverse", "debt"): (1, -1),
    ("adjust", "available"): (1, -1),
    ("adjust", "debt"): (1,),
    ("hold", "available"): (-1,),
    ("release", "available"): (1,),
}
_COUNTERPART: dict[EntryKind, BalanceName] = {
    "activate": "pending",
    "hold": "held",
    "release": "held",
}


def shape_error(entry: Entry) -> str | None:
    """Why this kind cannot move this balance by this sign, or None if it can."""
    signs = _SIGNS.get((entry.kind, entry.balance))
    if signs is None:
        return f"{entry.kind} cannot move {entry.balance}"
    sign = (entry.points > 0) - (entry.points < 0)
    if sign not in signs:
        return f"{entry.kind} on {entry.balance} cannot be {entry.points}"
    return None


def apply(balances: Balances, entry: Entry) -> Balances:
    """The balances after one entry (per the table in this module's docstring)."""
    delta = {"available": 0, "pending": 0, "held": 0, "debt": 0}
    delta[entry.balance] += entry.points
    counterpart = _COUNTERPART.get(entry.kind)
    if counterpart is not None:
        delta[counterpart] -= entry.points
    earned = spent = 0
    if entry.kind == "earn" or (entry.kind == "adjust" and entry.balance == "available"):
        earned = max(entry.points, 0)
    elif entry.kind == "spend":
        spent = -entry.points
    return Balances(
        available=balances.available + delta["available"],
        pending=balances.pending + delta["pending"],
        held=balances.held + delta["held"],
        debt=balances.debt + delta["debt"],
        lifetime_earned=balances.lifetime_earned + earned,
        lifetime_spent=balances.lifetime_spent + spent,
    )


def replay(entries: Iterable[Entry], start: Balances | None = None) -> Balances:
    """The balances that `entries` add up to, from `start` (default: all zero)."""
    balances = start if start is not None else Balances()
    for entry in entries:
        balances = apply(balances, entry)
    return balances


def verify(entries: Iterable[Entry], balances: Balances) -> list[str]:
    """Recompute a member's balances from all their entries; the differences (empty = ok)."""
    problems: list[str] = []
    below_zero: set[str] = set()
    running = Balances()
    for index, entry in enumerate(entries):
        shape = shape_error(entry)
        if shape is not None:
            problems.append(f"entry {index}: {shape}")
        running = apply(running, entry)
        for name in ("available", "pending", "held", "debt"):
            if getattr(running, name) < 0 and name not in below_zero:
                below_zero.add(name)
                problems.append(f"entry {index}: {name} goes below zero")
    for name in Balances.__struct_fields__:
        summed, stored = getattr(running, name), getattr(balances, name)
        if summed != stored:
            problems.append(f"{name}: entries sum to {summed}, balance says {stored}")
    return problems
