"""The `points` action: award points by a CEL formula (an int, or a double floored), within
the rule's caps and budget. The one kind a `stop` earlier in the event cancels."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import msgspec

from service.engine.actions.firing import MAX_POINTS, Firing
from service.engine.cel import CelEnv, CompiledExpr
from service.engine.expression_load import compile_expr
from service.engine.files import RuleAction
from service.engine.load_context import LoadContext
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["PointsAction", "PointsEffect", "check_points_once", "load_points", "points_effect"]


class PointsEffect(msgspec.Struct, frozen=True, tag="points"):
    """Award `points`; `budget` is the rule's global budget the store must draw from, if any."""

    rule_id: str
    ruleset_version: str
    points: int
    reason: str
    budget: int | None = None


class PointsAction(msgspec.Struct, frozen=True):
    """`points: <formula>`, compiled."""

    kind: ClassVar[str] = "points"
    gives_points: ClassVar[bool] = True
    expr: CompiledExpr


def load_points(
    ctx: LoadContext, doc: YamlDoc, path: Path, env: CelEnv, formula: str | int
) -> PointsAction | None:
    """Compile the formula at `path` (`...actions[i].points`)."""
    expr = compile_expr(ctx, doc, path, env, str(formula), ("INT", "DOUBLE"))
    return PointsAction(expr) if expr else None


def check_points_once(
    ctx: LoadContext, doc: YamlDoc, path: Path, actions: list[RuleAction]
) -> None:
    """One lot per event and rule: a rule's points are one formula (`path` is its actions)."""
    points_at = [i for i, action in enumerate(actions) if action.points is not None]
    if len(points_at) > 1:
        ctx.problems.append(
            doc.problem(
                (*path, points_at[1]),
                "a rule gives points once: put the amounts in one 'points' formula",
            )
        )


def _points_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"points formula gave {value!r}, not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"points formula gave {value}")
        value = math.floor(value)
    if value < 0:
        raise ValueError(f"points formula gave {value}; points cannot be negative")
    if value > MAX_POINTS:
        raise ValueError(f"points formula gave {value}, more than {MAX_POINTS:,}")
    return int(value)


def points_effect(firing: Firing, value: Any) -> PointsEffect | None:
    """The points the formula's `value` gives, within what the caps leave (None for none)."""
    points = _points_value(value)
    if firing.left is not None:
        points = min(points, firing.left - firing.given)
    firing.given += points
    if points <= 0:
        return None
    reason = firing.reason("{points} points from rule '" + firing.rule_id + "'", points)
    return PointsEffect(firing.rule_id, firing.version, points, reason, firing.budget)
