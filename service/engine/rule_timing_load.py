"""Loading when and how often a rule fires: its `schedule:` (times without a zone in the
program's) and its `caps:` (per member and period, and a global points budget)."""

from __future__ import annotations

from datetime import datetime

from service.core.periods import Period
from service.engine.files import RuleDef
from service.engine.load_context import LoadContext
from service.engine.ruleset import CompiledCap
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["load_caps", "load_schedule"]


def load_schedule(
    ctx: LoadContext, doc: YamlDoc, path: Path, rule: RuleDef
) -> tuple[datetime | None, datetime | None]:
    """The rule's live window, start inclusive and end exclusive (either may be open)."""
    if rule.schedule is None:
        return None, None
    start, end = ctx.aware(rule.schedule.start), ctx.aware(rule.schedule.end)
    if start is not None and end is not None and end <= start:
        ctx.problems.append(
            doc.problem((*path, "schedule", "end"), "schedule end must be after its start")
        )
    return start, end


def load_caps(ctx: LoadContext, doc: YamlDoc, path: Path, rule: RuleDef) -> tuple[CompiledCap, ...]:
    """The rule's per-member caps, one per period; the budget checked."""
    if rule.caps is None:
        return ()
    out: list[CompiledCap] = []
    periods: set[Period] = set()
    for i, cap in enumerate(rule.caps.per_member):
        where: Path = (*path, "caps", "per_member", i)
        if cap.max_times is None and cap.max_points is None:
            ctx.problems.append(doc.problem(where, "a cap needs max_times or max_points"))
        if any(v is not None and v <= 0 for v in (cap.max_times, cap.max_points)):
            ctx.problems.append(doc.problem(where, "cap limits must be positive"))
        if cap.period in periods:
            ctx.problems.append(
                doc.problem(where, f"two caps for period '{cap.period}'; merge them")
            )
        periods.add(cap.period)
        out.append(CompiledCap(cap.period, cap.max_times, cap.max_points))
    if rule.caps.budget is not None and rule.caps.budget <= 0:
        ctx.problems.append(doc.problem((*path, "caps", "budget"), "budget must be positive"))
    return tuple(out)
