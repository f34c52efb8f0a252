"""A backtest's booked side read from what the period stored, instead of decided again.

The booked side of a backtest is what the rules in force booked: every stored event keeps its
answer (`EventResult`), and the ledger entries, lots and cap usage are stored. Deciding each
period operation again with the version that booked it gives the same answers and rows, so
long as nothing but those operations wrote the members' rows; `stored_side` reads them
instead, which halves a backtest's decisions.

`readable` tells, referral group by referral group (a referee's purchase books their
referrer), whose stored rows are exactly what their operations made: not a group with an
operation decided at or after the period's end (the final rows would count it), an erasure,
a tier move or an engagement level move no stored event answered (the worker's passes, a
referrer's move), points earned or reversed outside an operation (debt repaid by the worker's
activation). The others are decided again. Pure: reads its arguments only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import msgspec

from service.decide import EventResult
from service.decide.rows import Rows, UsageRow
from service.replay.memory import MemoryStore
from service.replay.operations import EraseOp, EventOp, Operation
from service.store.history import StoredRows

__all__ = ["StoredSide", "readable", "rows_of", "stored_side"]


class StoredSide(msgspec.Struct, kw_only=True):
    """The period as it was booked: each stored event's answer, and the rows the period's
    operations wrote that a backtest counts (points earned and reversed with their lots, the
    cap usage they changed)."""

    results: dict[tuple[str, str], EventResult]
    rows: Rows


def rows_of(rows: StoredRows, members: Collection[str]) -> StoredRows:
    """The stored rows of `members` only."""
    fields: dict[str, Any] = {
        name: [row for row in getattr(rows, name) if row.member_id in members]
        for name in rows.__struct_fields__
    }
    return StoredRows(**fields)


def stored_side(
    rows: StoredRows, start: MemoryStore, since: datetime, until: datetime
) -> StoredSide:
    """The booked side of a period from its stored rows (of members `readable` found so;
    `start`: their state as the period starts)."""
    entries = [e for e in rows.entries if e.kind in ("earn", "reverse") and since <= e.at < until]
    return StoredSide(
        results={(e.member_id, e.event_id): e.result for e in rows.events},
        rows=Rows(entries=entries, lots=list(rows.lots), usage=_usage_changed(rows, start)),
    )


def readable(
    operations: Sequence[Operation],
    rows: StoredRows,
    groups: Sequence[Sequence[str]],
    until: datetime,
) -> set[str]:
    """The members of the whole `groups` whose stored rows are what their `operations`
    (decided before `until`) wrote, and nothing else."""
    unlike = _unlike(operations, rows, until)
    nows: dict[str, set[datetime]] = defaultdict(set)
    for op in operations:
        nows[op.member_id].add(op.now)
    booked: dict[str, list[datetime]] = defaultdict(list)
    for e in rows.entries:
        if e.kind in ("earn", "reverse"):
            booked[e.member_id].append(e.at)
    out: set[str] = set()
    for group in groups:
        decided = set().union(*(nows[m] for m in group))
        if not any(m in unlike for m in group) and all(
            at in decided for m in group for at in booked[m]
        ):
            out.update(group)
    return out


def _unlike(operations: Sequence[Operation], rows: StoredRows, until: datetime) -> set[str]:
    """Members whose stored rows hold what their operations before `until` did not write (an
    event stored since the operations were read, too)."""
    out = {op.member_id for op in operations if isinstance(op, EraseOp)}
    events = {(op.member_id, op.event_id) for op in operations if isinstance(op, EventOp)}
    out.update(e.member_id for e in rows.events if (e.member_id, e.event_id) not in events)
    out.update(e.member_id for e in rows.events if e.received_at >= until)
    out.update(a.member_id for a in rows.adjustments if a.created_at >= until)
    out.update(
        r.member_id
        for r in rows.redemptions
        if r.created_at >= until or (r.settled_at is not None and r.settled_at >= until)
    )
    out.update(m.member_id for m in rows.engagement_moves if m.event_id is None)
    answered = Counter(
        (e.member_id, m.from_tier, m.to_tier, m.at)
        for e in rows.events
        for m in e.result.tier_moves
    )
    stored = Counter((m.member_id, m.from_tier, m.to_tier, m.at) for m in rows.tier_moves)
    out.update(key[0] for key in (answered - stored) + (stored - answered))
    return out


def _usage_changed(rows: StoredRows, start: MemoryStore) -> list[UsageRow]:
    """The cap usage rows the period changed. Usage only grows, so a row the period wrote
    differs from its value at the start, and its stored value is the period's last."""
    changed = []
    for u in rows.usage:
        tables = start.members.get(u.member_id)
        old = tables.usage.get((u.rule_id, u.period_key)) if tables is not None else None
        if old is None or (old.times, old.points) != (u.times, u.points):
            changed.append(u)
    return changed
