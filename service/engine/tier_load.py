"""Loading `tiers:` of `program.yaml`: the ladder checked and compiled to the core's program."""

from __future__ import annotations

from service.core.metrics import EventCount, Metric, PointsEarned, Spend
from service.core.tiers import TierLevel, TierProgram
from service.engine.files import TiersDef
from service.engine.load_context import LoadContext, known_event_type
from service.engine.yamldoc import YamlDoc

__all__ = ["load_tiers"]


def _check_levels(ctx: LoadContext, doc: YamlDoc, tiers: TiersDef) -> None:
    if not tiers.levels:
        ctx.problems.append(doc.problem(("tiers", "levels"), "tiers need at least one level"))
    seen: set[str] = set()
    for i, level in enumerate(tiers.levels):
        if level.id in seen:
            ctx.problems.append(
                doc.problem(("tiers", "levels", i, "id"), f"duplicate tier '{level.id}'")
            )
        seen.add(level.id)
        if i and level.threshold <= tiers.levels[i - 1].threshold:
            ctx.problems.append(
                doc.problem(
                    ("tiers", "levels", i, "threshold"),
                    "thresholds must rise from one level to the next",
                )
            )
        if level.multiplier < 0:
            ctx.problems.append(
                doc.problem(("tiers", "levels", i, "multiplier"), "multiplier must be >= 0")
            )


def _metric(ctx: LoadContext, doc: YamlDoc, tiers: TiersDef) -> Metric | None:
    """The rule file's `metric:` (and `event:` for a count) as the core's metric."""
    if tiers.metric == "points_earned":
        return PointsEarned()
    if tiers.metric == "spend":
        return Spend()
    if tiers.event is None:
        ctx.problems.append(
            doc.problem(("tiers", "metric"), "metric 'count' needs 'event: <type>'")
        )
        return None
    known_event_type(ctx, doc, ("tiers", "event"), tiers.event)
    return EventCount(tiers.event)


def load_tiers(ctx: LoadContext, doc: YamlDoc, tiers: TiersDef | None) -> TierProgram | None:
    """Check the tier ladder and compile it to the core's program."""
    if tiers is None:
        return None
    before = len(ctx.problems)
    _check_levels(ctx, doc, tiers)
    metric = _metric(ctx, doc, tiers)
    rolling = None if isinstance(tiers.window, str) else tiers.window.rolling_days
    if rolling is not None and rolling <= 0:
        ctx.problems.append(doc.problem(("tiers", "window"), "rolling_days must be positive"))
    if tiers.grace_days < 0:
        ctx.problems.append(doc.problem(("tiers", "grace_days"), "grace_days must be >= 0"))
    if len(ctx.problems) > before or metric is None:
        return None
    return TierProgram(
        metric=metric,
        levels=tuple(
            TierLevel(lv.id, lv.name or lv.id, lv.threshold, lv.multiplier, tuple(lv.benefits))
            for lv in tiers.levels
        ),
        timezone=ctx.tz,
        rolling_days=rolling,
        grace_days=tiers.grace_days,
    )
