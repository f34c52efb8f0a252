"""When a backtest reads a referral group's booked side from its stored rows, and when it
decides the group again: `service.replay.booked.readable` over hand-made stored rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from service.decide import EventResult
from service.decide.answers import BalancesView, TierMoveView
from service.decide.rows import EngagementMoveRow, EntryRow, EventRow, TierMoveRow
from service.replay.booked import readable
from service.replay.operations import EraseOp, EventOp
from service.store.history import StoredRows

AT = datetime(2026, 3, 10, 12, tzinfo=UTC)
UNTIL = datetime(2026, 4, 1, tzinfo=UTC)
GROUPS = [["ann"], ["ben", "cat"]]


def _op(member: str, event: str, now: datetime = AT) -> EventOp:
    return EventOp(
        seq=1,
        now=now,
        version="v",
        member_id=member,
        event_id=event,
        type="purchase",
        occurred_at=now,
        attributes={},
        body_hash="h",
    )


def _event(member: str, event: str, now: datetime = AT, moves=()) -> EventRow:
    balances = BalancesView(
        available=0, pending=0, held=0, debt=0, lifetime_earned=0, lifetime_spent=0
    )
    result = EventResult(
        event_id=event,
        member_id=member,
        type="purchase",
        occurred_at=now,
        ruleset_version="v",
        points=0,
        earned=0,
        reversed=0,
        effects=[],
        lots=[],
        badges=[],
        challenges=[],
        balances=balances,
        tier_moves=list(moves),
    )
    return EventRow(
        member_id=member,
        event_id=event,
        type="purchase",
        occurred_at=now,
        received_at=now,
        body_hash="h",
        attributes={},
        ruleset_version="v",
        result=result,
    )


def _entry(member: str, at: datetime, kind: str = "earn") -> EntryRow:
    return EntryRow(
        member_id=member,
        entry_no=1,
        kind=kind,
        balance="available",
        points=10,
        lot_id="l1",
        reason="r",
        at=at,
        event_id=None,
        rule_id="base-earn",
        ruleset_version="v",
        redemption_id=None,
        order_id=None,
        actor=None,
    )


OPS = [_op("ann", "a1"), _op("ben", "b1"), _op("cat", "c1")]
EVENTS = [_event("ann", "a1"), _event("ben", "b1"), _event("cat", "c1")]


def test_members_whose_rows_are_their_operations_alone_are_read():
    rows = StoredRows(events=EVENTS, entries=[_entry("ann", AT), _entry("cat", AT)])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ann", "ben", "cat"}


def test_an_operation_after_the_period_sends_its_whole_group_to_be_decided():
    late = UNTIL + timedelta(hours=1)
    rows = StoredRows(events=[*EVENTS, _event("cat", "c2", late)])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ann"}


def test_an_event_stored_since_the_operations_were_read_is_decided():
    rows = StoredRows(events=[*EVENTS, _event("ann", "a2")])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ben", "cat"}


def test_a_tier_move_no_event_answered_is_a_worker_pass():
    move = TierMoveRow(
        member_id="ben", seq=1, from_tier="gold", to_tier="silver", at=AT, reason="lapsed"
    )
    rows = StoredRows(events=EVENTS, tier_moves=[move])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ann"}
    answered = TierMoveView(from_tier="gold", to_tier="silver", at=AT, reason="lapsed")
    events = [EVENTS[0], _event("ben", "b1", moves=[answered]), EVENTS[2]]
    rows = StoredRows(events=events, tier_moves=[move])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ann", "ben", "cat"}


def test_an_engagement_move_without_an_event_is_a_worker_pass():
    drift = EngagementMoveRow(
        member_id="ann",
        seq=1,
        from_level="active",
        to_level="lapsing",
        at=AT,
        score=Decimal("0.2"),
        event_id=None,
    )
    rows = StoredRows(events=EVENTS, engagement_moves=[drift])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ben", "cat"}


def test_points_booked_at_no_operations_moment_are_decided_again():
    rows = StoredRows(events=EVENTS, entries=[_entry("ben", AT + timedelta(minutes=5), "reverse")])
    assert readable(OPS, rows, GROUPS, UNTIL) == {"ann"}
    # a referrer's points come at their referee's moment: the group's operations count
    rows = StoredRows(events=EVENTS, entries=[_entry("cat", AT + timedelta(minutes=5))])
    later = [OPS[0], _op("ben", "b1", AT + timedelta(minutes=5)), OPS[2]]
    events = [EVENTS[0], _event("ben", "b1", AT + timedelta(minutes=5)), EVENTS[2]]
    rows = StoredRows(events=events, entries=[_entry("cat", AT + timedelta(minutes=5))])
    assert readable(later, rows, GROUPS, UNTIL) == {"ann", "ben", "cat"}


def test_an_erasure_is_decided_again():
    erase = EraseOp(
        seq=2,
        now=AT,
        version="v",
        member_id="ann",
        adjustment_id="erase-1",
        request_hash="h",
        actor="admin",
    )
    rows = StoredRows(events=EVENTS)
    assert readable([*OPS, erase], rows, GROUPS, UNTIL) == {"ben", "cat"}
