"""Loading `engagement:` of `program.yaml` into the core's engagement program, every problem
pinned to its file, line and column."""

from __future__ import annotations

from collections.abc import Iterable

from service.core.engagement import (
    DEFAULT_LEVELS,
    EngagementComponent,
    EngagementLevel,
    EngagementProgram,
    default_engagement,
)
from service.core.metrics import EventCount
from service.engine.events import INTERNAL_EVENT_TYPES
from service.engine.files import EngagementComponentDef, EngagementDef, EngagementLevelDef
from service.engine.load_context import LoadContext
from service.engine.problems import Problem, did_you_mean
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["load_engagement"]

_RESERVED = frozenset({"score", "level"})
_MAX_WINDOW = 3660


def _activity(event_types: Iterable[str]) -> tuple[str, ...]:
    """Event types that count as activity by default: all but refunds and internal ones."""
    return tuple(sorted(t for t in event_types if t != "refund" and t not in INTERNAL_EVENT_TYPES))


def _component(
    doc: YamlDoc,
    cid: str,
    c: EngagementComponentDef,
    event_types: Iterable[str],
    problems: list[Problem],
) -> EngagementComponent | None:
    path: Path = ("engagement", "components", cid)
    before = len(problems)
    known = set(event_types) - INTERNAL_EVENT_TYPES
    if cid in _RESERVED or not cid.isidentifier():
        problems.append(
            doc.problem(path, f"'{cid}' cannot name a component (score, level are taken)", key=True)
        )
    if c.weight <= 0:
        problems.append(doc.problem((*path, "weight"), "weight must be > 0"))
    if c.half_life_days <= 0:
        problems.append(doc.problem((*path, "half_life_days"), "half_life_days must be > 0"))
    if not 1 <= c.window_days <= _MAX_WINDOW:
        problems.append(
            doc.problem((*path, "window_days"), f"window_days must be 1 to {_MAX_WINDOW}")
        )
    for i, name in enumerate(c.events or ()):
        if name not in known:
            problems.append(
                doc.problem(
                    (*path, "events", i), f"unknown event type '{name}'{did_you_mean(name, known)}"
                )
            )
    if c.kind == "amount" and c.events is not None:
        problems.append(
            doc.problem((*path, "events"), "an 'amount' component reads 'of', not events")
        )
    if c.kind != "recency" and (c.target is None or c.target <= 0):
        problems.append(doc.problem((*path, "kind"), f"a '{c.kind}' component needs a target > 0"))
    if len(problems) > before:
        return None
    events = tuple(c.events) if c.events else _activity(known)
    target = c.target or 1.0
    if c.kind == "amount":
        metrics: tuple[str, ...] = (c.of,)
        unit = c.unit if c.unit is not None else target / 5
    else:
        metrics = tuple(EventCount(t).key for t in events)
        unit = 1.0
    return EngagementComponent(
        id=cid,
        kind=c.kind,
        metrics=metrics,
        weight=c.weight,
        half_life_days=c.half_life_days,
        window_days=c.window_days,
        target=target,
        unit=unit,
    )


def _levels(
    doc: YamlDoc, declared: list[EngagementLevelDef] | None, problems: list[Problem]
) -> tuple[EngagementLevel, ...]:
    if declared is None:
        return DEFAULT_LEVELS
    seen: set[str] = set()
    for i, lv in enumerate(declared):
        path: Path = ("engagement", "levels", i)
        if lv.id in seen or not lv.id:
            problems.append(doc.problem((*path, "id"), f"duplicate level '{lv.id}'"))
        seen.add(lv.id)
        if i == 0 and lv.threshold != 0:
            problems.append(
                doc.problem((*path, "threshold"), "the lowest level's threshold must be 0")
            )
        if i and lv.threshold <= declared[i - 1].threshold:
            problems.append(
                doc.problem((*path, "threshold"), "thresholds must rise from one level to the next")
            )
        if lv.threshold > 100:
            problems.append(doc.problem((*path, "threshold"), "scores go up to 100"))
    if not declared:
        problems.append(doc.problem(("engagement", "levels"), "at least one level"))
    return tuple(
        EngagementLevel(lv.id, lv.name or lv.id.replace("_", " ").capitalize(), lv.threshold)
        for lv in declared
    )


def load_engagement(
    ctx: LoadContext, doc: YamlDoc, declared: EngagementDef | None
) -> EngagementProgram:
    """The program's engagement: the default one when none is declared, or when the declared
    one is refused (its problems join `ctx`)."""
    types = list(ctx.event_types)
    if declared is None:
        return default_engagement(_activity(types))
    problems: list[Problem] = []
    components = [
        _component(doc, cid, c, types, problems) for cid, c in declared.components.items()
    ]
    if not declared.components:
        problems.append(doc.problem(("engagement", "components"), "at least one component"))
    levels = _levels(doc, declared.levels, problems)
    if problems:
        ctx.problems.extend(problems)
        return default_engagement(_activity(types))
    return EngagementProgram(
        components=tuple(c for c in components if c is not None), levels=levels
    )
