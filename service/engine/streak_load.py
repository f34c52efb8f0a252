"""Loading a rule file's `streaks:`: the qualifying event types and their condition, and
milestones of rising length, compiled for the engine's `progress`."""

from __future__ import annotations

from service.engine.bounds import streak_numbers
from service.engine.cel import CompiledExpr
from service.engine.expression_load import compile_condition
from service.engine.files import StreakDef
from service.engine.load_context import LoadContext, check_badge, known_event_type
from service.engine.progress_defs import CompiledStreak
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["load_streak"]


def load_streak(ctx: LoadContext, doc: YamlDoc, path: Path, streak: StreakDef) -> None:
    """Check and compile one streak into `ctx.streaks`."""
    before = len(ctx.problems)
    when: dict[str, CompiledExpr] = {}
    if not streak.on:
        ctx.problems.append(doc.problem((*path, "on"), "a streak needs an event type"))
    for i, event_type in enumerate(streak.on):
        if known_event_type(ctx, doc, (*path, "on", i), event_type):
            expr = compile_condition(ctx, doc, (*path, "when"), event_type, streak.when)
            if expr is not None:
                when[event_type] = expr
    ctx.problems.extend(streak_numbers(doc, path, streak))
    lengths = [m.length for m in streak.milestones]
    if lengths != sorted(set(lengths)) or any(n <= 0 for n in lengths):
        ctx.problems.append(
            doc.problem((*path, "milestones"), "milestone lengths must be positive and rising")
        )
    for i, milestone in enumerate(streak.milestones):
        check_badge(ctx, doc, (*path, "milestones", i, "badge"), milestone.badge)
    if any(s.id == streak.id for s in ctx.streaks):
        ctx.problems.append(doc.problem((*path, "id"), f"duplicate streak id '{streak.id}'"))
    if len(ctx.problems) > before:
        return
    ctx.streaks.append(
        CompiledStreak(
            id=streak.id,
            name=streak.name,
            on=tuple(streak.on),
            unit=streak.unit,
            freezes_per_month=streak.freezes_per_month,
            milestones=tuple(streak.milestones),
            when=when,
        )
    )
