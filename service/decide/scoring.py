"""Leaderboards in the decision step: what an event adds to the member's scores, in the period
of its `occurred_at`, on the segment of the member's attribute (after the event set it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from msgspec.structs import replace

from service.core.boards import metric_delta, period_key_for
from service.decide.state import MemberState
from service.engine import Event, Ruleset

__all__ = ["scored", "segment_text"]


def segment_text(value: Any) -> str | None:
    """The segment a member attribute value puts a member in: the value as PostgreSQL's
    `attributes ->> name` reads it (None when unset)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return format(Decimal(msgspec.json.encode(value).decode().strip('"')), "f")
    return msgspec.json.encode(value).decode().replace(",", ", ").replace(":", ": ")


def scored(ruleset: Ruleset, state: MemberState, event: Event, earned: int) -> MemberState:
    """The member with the event's addition to every board its metric touches."""
    boards = ruleset.program.leaderboards
    if not boards:
        return state
    tz = ruleset.program.timezone
    scores = state.boards
    for board in boards:
        delta = metric_delta(board.metric, event.type, earned)
        if delta <= 0:
            continue
        segment = ""
        if board.segment is not None:
            found = segment_text(state.profile.attributes.get(board.segment))
            if found is None:
                continue  # a member without the attribute is not on a segmented board
            segment = found
        key = (board.id, period_key_for(board.period, event.occurred_at, tz), segment)
        if scores is state.boards:
            scores = dict(scores)
        scores[key] = scores.get(key, 0) + delta
    return state if scores is state.boards else replace(state, boards=scores)
