"""A backtest's booked side read from what the period stored, instead of decided again.

The booked side of a backtest is what the rules in force booked: every stored event keeps its
answer (`EventResult`), and the ledger entries, lots and cap usage are stored. Deciding each
period operation again with the version that booked it gives the same answers and rows, so
long as nothing but those operations wrote the page's rows; `stored_side` reads them instead,
which halves a backtest's decisions.

It declines (None: decide the page again) when the stored rows may hold what the replay of the
period does not make: an operation decided at or after the period's end (the final rows would
count it), an erasure, a tier move or an engagement level move no stored event answered (the
worker's passes, a referrer's move), points earned or reversed outside an operation (debt
repaid by the worker's activation). Pure: reads its arguments only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import msgspec

from service.decide import EventResult
from service.decide.rows import Rows, UsageRow
from service.replay.memory import MemoryStore
from service.replay.operations import EraseOp, Operation
from service.store.history import StoredRows

__all__ = ["StoredSide", "stored_side"]


class StoredSide(msgspec.Struct, kw_only=True):
    """The period as it was booked: each stored event's answer, and the rows the period's
    operations wrote that a backtest counts (points earned and reversed with their lots, the
    cap usage they changed)."""

    results: dict[tuple[str, str], EventResult]
    rows: Rows


def stored_side(
    operations: Sequence[Operation],
    rows: StoredRows,
    start: MemoryStore,
    since: datetime,
    until: datetime,
) -> StoredSide | None:
    """The booked side of the page's period from its stored rows (`operations`: the page's
    operations decided before `until`; `start`: the page's state as the period starts), or
    None when the stored rows are not exactly what deciding the period again would make."""
    if not _only_operations(operations, rows, until):
        return None
    entries = [e for e in rows.entries if e.kind in ("earn", "reverse") and since <= e.at < until]
    return StoredSide(
        results={(e.member_id, e.event_id): e.result for e in rows.events},
        rows=Rows(entries=entries, lots=list(rows.lots), usage=_usage_changed(rows, start)),
    )


def _only_operations(operations: Sequence[Operation], rows: StoredRows, until: datetime) -> bool:
    """Whether the page's stored rows are those its operations before `until` wrote."""
    if any(isinstance(op, EraseOp) for op in operations):
        return False
    moments = [e.received_at for e in rows.events]
    moments += [r.created_at for r in rows.redemptions]
    moments += [r.settled_at for r in rows.redemptions if r.settled_at is not None]
    moments += [a.created_at for a in rows.adjustments]
    if any(at >= until for at in moments):
        return False
    if any(m.event_id is None for m in rows.engagement_moves):
        return False
    answered = Counter(
        (e.member_id, m.from_tier, m.to_tier, m.at)
        for e in rows.events
        for m in e.result.tier_moves
    )
    stored = Counter((m.member_id, m.from_tier, m.to_tier, m.at) for m in rows.tier_moves)
    if answered != stored:
        return False
    decided = {op.now for op in operations}
    return all(e.at in decided for e in rows.entries if e.kind in ("earn", "reverse"))


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
