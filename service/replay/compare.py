"""Two stores side by side: the rows as stored, and as a replay decided them again.

Rows are compared table by table and key by key, after both sides went through one JSON round
trip (so a decimal compares by value and an attribute as it is stored). A member's profile is
not compared: it is an input of the replay (profiles keep no history), not something it
decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from service.decide.rows import MetricRow, Rows
from service.replay.memory import MemberTables, MemoryStore
from service.store.history import StoredRows

__all__ = ["Difference", "differences", "store_of"]


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    """One row that differs: where, and both sides (None: the row is missing there)."""

    member_id: str
    table: str
    key: str
    stored: Any
    replayed: Any

    def line(self) -> str:
        """The difference in one line, for a terminal."""
        return (
            f"{self.member_id} {self.table} {self.key}: stored {_short(self.stored)}, "
            f"replay {_short(self.replayed)}"
        )


def _short(value: Any) -> str:
    text = "missing" if value is None else msgspec.json.encode(value).decode()
    return text if len(text) <= 400 else text[:397] + "..."


def store_of(rows: StoredRows, base: MemoryStore) -> MemoryStore:
    """A store holding exactly the stored rows (profiles and code owners from `base`)."""
    store = MemoryStore(base.profiles, base.code_owners)
    fields = msgspec.structs.asdict(rows)
    fields["entries"] = sorted(rows.entries, key=lambda e: (e.member_id, e.entry_no))
    fields["tier_moves"] = sorted(rows.tier_moves, key=lambda m: (m.member_id, m.seq))
    fields["engagement_moves"] = sorted(rows.engagement_moves, key=lambda m: (m.member_id, m.seq))
    fields["metrics"] = [MetricRow(**msgspec.structs.asdict(m)) for m in rows.metrics]
    store.save(Rows(**fields))
    return store


def _tables(t: MemberTables | None) -> dict[str, dict[Any, Any]]:
    if t is None:
        t = MemberTables(profile=None)  # type: ignore[arg-type]
    return {
        "events": t.events,
        "member_counters": t.counters,
        "lots": t.lots,
        "ledger_entries": {e.entry_no: e for e in t.entries},
        "balances": {"": t.balance} if t.balance is not None else {},
        "orders": t.orders,
        "rule_usage": t.usage,
        "member_badges": t.badges,
        "member_badge_levels": t.badge_levels,
        "challenge_progress": t.challenges,
        "streak_units": {(s, u): True for s, units in t.streak_units.items() for u in units},
        "member_streaks": t.streaks,
        "tier_metric_days": {
            (metric, day): value
            for metric, days in t.metrics.items()
            for day, value in days.items()
        },
        "member_tiers": {"": t.tier} if t.tier is not None else {},
        "tier_history": {m.seq: m for m in t.tier_moves},
        "member_engagement": {"": t.engagement} if t.engagement is not None else {},
        "engagement_history": {m.seq: m for m in t.engagement_moves},
        "experiment_exposures": t.exposures,
        "referrals": {"": t.referral} if t.referral is not None else {},
        "board_scores": t.scores,
        "redemptions": t.redemptions,
        "adjustments": t.adjustments,
    }


def _plain(value: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(value))


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    plain_a, plain_b = _plain(a), _plain(b)
    if plain_a == plain_b:
        return True
    if isinstance(a, msgspec.Struct) and type(a) is type(b):  # decimals stored with 4 places
        return bool(msgspec.json.decode(msgspec.json.encode(a), type=type(a)) == b)
    return False


def differences(
    stored: MemoryStore, replayed: MemoryStore, member_ids: list[str]
) -> Iterator[Difference]:
    """Every row that differs, member by member, table by table, in key order."""
    for member_id in member_ids:
        a = _tables(stored.members.get(member_id))
        b = _tables(replayed.members.get(member_id))
        for table, rows in a.items():
            other = b[table]
            for key in sorted(set(rows) | set(other), key=repr):
                x, y = rows.get(key), other.get(key)
                if x is None or y is None or not _same(x, y):
                    px = _plain(x) if x is not None else None
                    py = _plain(y) if y is not None else None
                    if isinstance(px, dict) and isinstance(py, dict):  # the values that differ
                        leaves = _leaves(px, py, "")[:5]
                        px = {path: a for path, a, _ in leaves}
                        py = {path: b for path, _, b in leaves}
                    yield Difference(
                        member_id=member_id, table=table, key=_key(key), stored=px, replayed=py
                    )


def _leaves(a: Any, b: Any, path: str) -> list[tuple[str, Any, Any]]:
    """The paths (`result.effects.0.points`) where two plain values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for k in [*a, *(k for k in b if k not in a)]:
            found.extend(_leaves(a.get(k), b.get(k), f"{path}.{k}" if path else str(k)))
        return found
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found.extend(_leaves(x, y, f"{path}.{i}"))
        return found
    return [] if a == b else [(path, a, b)]


def _key(key: Any) -> str:
    if isinstance(key, tuple):
        return "/".join(str(k) for k in key)
    return str(key) or "-"
