"""How a member's engagement is shown to them and to admins: the score, the level, each
component's part, and what would raise it most, as of now (never waiting for a worker)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import msgspec

from service.core.engagement import best_raise, engagement_at
from service.decide.tiering import local_day
from service.engine import Ruleset

__all__ = ["EngagementShown", "engagement_shown"]


class ComponentShown(msgspec.Struct, kw_only=True):
    """One component: its raw value (days since the latest activity for `recency`, else the
    decayed sum), its share of the whole (0..1) and the score points it gives."""

    id: str
    kind: str
    value: float
    share: float
    points: float
    weight: float


class RaiseShown(msgspec.Struct, kw_only=True):
    """What would raise the score most today: one more event of `event_type`, the component it
    raises most, and by how many score points in all."""

    event_type: str
    component: str
    points: float
    hint: str


class EngagementShown(msgspec.Struct, kw_only=True):
    """The composite engagement score (0-100) as of `as_of`, its level and its components."""

    score: float
    level: str
    level_name: str
    components: list[ComponentShown]
    raise_most: RaiseShown | None
    as_of: date


def engagement_shown(
    ruleset: Ruleset, days: Mapping[tuple[str, date], Decimal], now: datetime
) -> EngagementShown:
    """The member's engagement as of the program's local day of `now`."""
    program = ruleset.program.engagement
    today = local_day(now, ruleset.program.timezone)
    e = engagement_at(program, days, today)
    best = best_raise(program, days, today)
    defs = {c.id: c for c in program.components}
    level = next(lv for lv in program.levels if lv.id == e.level)
    return EngagementShown(
        score=e.score,
        level=e.level,
        level_name=level.name,
        components=[
            ComponentShown(
                id=c.id,
                kind=defs[c.id].kind,
                value=c.value,
                share=c.share,
                points=c.points,
                weight=defs[c.id].weight,
            )
            for c in e.components
        ],
        raise_most=(
            RaiseShown(
                event_type=best.event_type,
                component=best.component,
                points=best.points,
                hint=f"a {best.event_type} today would add {best.points:g} points to the score",
            )
            if best is not None
            else None
        ),
        as_of=today,
    )
