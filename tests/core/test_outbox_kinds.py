"""The outbox messages a decision builds, by the kinds asked for: every kind by default (the
store keeps those an endpoint wants), only the kinds given, and none at all for none (a replay
in memory keeps no outbox and builds none)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from service.decide.rows import EngagementMoveRow, Log, Rows, TierMoveRow
from service.decide.webhooks import outbox_messages

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _rows() -> Rows:
    return Rows(
        tier_moves=[
            TierMoveRow(
                member_id="m1", seq=2, from_tier="silver", to_tier="gold", at=AT, reason="x"
            )
        ],
        engagement_moves=[
            EngagementMoveRow(
                member_id="m1",
                seq=3,
                from_level="at_risk",
                to_level="moderately_engaged",
                at=AT,
                score=Decimal("40.5"),
                event_id="e1",
            )
        ],
    )


def test_every_kind_by_default_only_those_asked_for_and_none_for_none() -> None:
    rows = _rows()
    every = outbox_messages(rows, Log(), {}, {}, AT)
    assert sorted(m.kind for m in every) == ["engagement.changed", "tier.changed"]
    assert outbox_messages(rows, Log(), {}, {}, AT, None) == every
    assert outbox_messages(rows, Log(), {}, {}, AT, frozenset({"tier.changed"})) == [
        m for m in every if m.kind == "tier.changed"
    ]
    assert outbox_messages(rows, Log(), {}, {}, AT, frozenset()) == []
