"""A page of members and its operations: the journal rows as operations, and the pages cut so
that members a referral ties together are decided in the same page."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from service.decide.erasure import ERASURE_PREFIX
from service.replay.operations import AdjustOp, EraseOp, EventOp, Operation, RedeemOp, SettleOp
from service.store.history import StoredOperation

__all__ = ["Components", "operation_of"]


class _Head(TypedDict):
    """What every operation carries: its decision number and moment, the version that decided
    it, and its member."""

    seq: int
    now: datetime
    version: str | None
    member_id: str


def operation_of(row: StoredOperation) -> Operation:
    """The stored journal row as the operation the replay decides."""
    b = row.body
    head = _Head(seq=row.seq, now=row.now, version=row.version, member_id=row.member_id)
    if row.kind == "event":
        return EventOp(
            **head,
            event_id=row.id,
            type=b["type"],
            occurred_at=_instant(b["occurred_at"]),
            attributes=b["attributes"],
            body_hash=b["body_hash"],
        )
    if row.kind == "redeem":
        return RedeemOp(
            **head,
            redemption_id=row.id,
            key=b["key"],
            request_hash=b["request_hash"],
            reward_id=b["reward_id"],
            points=int(b["points"]),
            hold=bool(b["hold"]),
            reference=b["reference"],
            coupon_code=b["coupon_code"],
            actor=b["actor"],
        )
    if row.kind == "settle":
        return SettleOp(
            **head,
            redemption_id=row.id,
            status=b["status"],
            actor=b["actor"],
        )
    assert row.kind == "adjust", row.kind
    if row.id.startswith(ERASURE_PREFIX):
        return EraseOp(
            **head,
            adjustment_id=row.id,
            request_hash=b["request_hash"],
            actor=b["actor"],
        )
    return AdjustOp(
        **head,
        adjustment_id=row.id,
        key=b["key"],
        request_hash=b["request_hash"],
        points=int(b["points"]),
        reason=b["reason"],
        actor=b["actor"],
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Components:
    """Members a referral ties together (union-find over the links): a referee's purchase
    books their referrer, so both are decided in one page."""

    def __init__(self, links: Iterable[tuple[str, str]]) -> None:
        self._parent: dict[str, str] = {}
        for a, b in links:
            self._union(a, b)
        self._members: dict[str, list[str]] = {}
        for member in self._parent:
            self._members.setdefault(self._find(member), []).append(member)

    def _find(self, member: str) -> str:
        root = self._parent.setdefault(member, member)
        while self._parent[root] != root:
            root = self._parent[root]
        while member != root:  # path compression
            self._parent[member], member = root, self._parent[member]
        return root

    def _union(self, a: str, b: str) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def of(self, member: str) -> list[str]:
        """The members tied to `member` (itself included)."""
        if member not in self._parent:
            return [member]
        return sorted(self._members[self._find(member)])
