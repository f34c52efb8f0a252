"""The decision step of the event pipeline: a set of events over the loaded state of their
members, in order, in one pure function. Live intake, batches and coalesced single posts all
run through it; the second event of a member sees the first's result.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

import msgspec

from service.decide.answers import EventResult
from service.decide.event import Prepared, decide_event
from service.decide.rows import Log, Rows, changed_rows
from service.decide.state import SetState
from service.decide.step import StateMissing, Step
from service.engine import Ruleset
from service.errors import DomainError

__all__ = ["Decision", "Missing", "decide"]


class Missing(msgspec.Struct, frozen=True):
    """State the load did not read: load it and decide the set again."""

    member_id: str
    metric_since: date | None = None


class Decision(msgspec.Struct, kw_only=True):
    """Per event (in order) its answer or its refusal, and the rows that book them all."""

    outcomes: list[EventResult | DomainError]
    rows: Rows
    missing: Missing | None = None
    """Set when the decision could not be made from the loaded state (nothing is valid)."""


def decide(
    ruleset: Ruleset,
    start: SetState,
    events: Sequence[Prepared],
    now: datetime,
    *,
    webhooks: Collection[str] | None = None,
    rollups: bool = True,
) -> Decision:
    """Decide every event of a set in order: what each answers, and what to write (the outbox
    messages of the `webhooks` kinds: None for every kind; the program's rollups and the
    leaderboards' histogram counters unless not `rollups`: a replay's memory store keeps none
    of them)."""
    members = dict(start.members)
    budgets = dict(start.budgets)
    log = Log()
    outcomes: list[EventResult | DomainError] = []
    for prepared in events:
        step = Step(members, budgets, now)
        try:
            result = decide_event(step, ruleset, start.code_owners, prepared)
        except DomainError as refusal:
            outcomes.append(refusal)
            continue
        except StateMissing as missing:
            return Decision(
                outcomes=[],
                rows=Rows(),
                missing=Missing(missing.member_id, missing.metric_since),
            )
        members.update(step.changed)
        budgets = step.budgets
        log.extend(step.log)
        outcomes.append(result)
    tz = ruleset.program.timezone if rollups else None
    rows = changed_rows(
        start.members, members, start.budgets, budgets, log, now, tz, webhooks, histogram=rollups
    )
    return Decision(outcomes=outcomes, rows=rows)
