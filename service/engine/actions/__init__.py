"""The kinds of rule action, and the places the engine dispatches on them: loading an action
from a rule file, the expression it runs and what it decides when its rule fires.

Each kind lives in a module of its own (`points`, `badge`, `challenge`, `attribute`): its
compiled action, its effect, how it loads and how it evaluates. To add a kind: write its module,
add its syntax to `RuleAction` (`files.py`), its types to the unions and a case to each `match`
here (mypy's `assert_never` names the ones missing), and book its effect in
`service/decide/event.py`.
"""

from __future__ import annotations

from typing import Any, assert_never

from service.engine.actions.attribute import (
    AttributeAction,
    AttributeEffect,
    attribute_effect,
    load_attribute,
)
from service.engine.actions.badge import BadgeAction, BadgeEffect, badge_effect, load_badge
from service.engine.actions.challenge import (
    ChallengeAction,
    ChallengeEffect,
    challenge_effect,
    load_challenge_action,
)
from service.engine.actions.firing import PLACEHOLDER, Firing
from service.engine.actions.points import (
    PointsAction,
    PointsEffect,
    check_points_once,
    load_points,
    points_effect,
)
from service.engine.cel import CelEnv, CompiledExpr
from service.engine.files import RuleAction
from service.engine.load_context import LoadContext
from service.engine.yamldoc import Path, YamlDoc

__all__ = [
    "PLACEHOLDER",
    "Action",
    "ActionEffect",
    "Firing",
    "action_effect",
    "action_expr",
    "check_points_once",
    "load_action",
]

Action = PointsAction | BadgeAction | ChallengeAction | AttributeAction
"""A compiled rule action: one struct per kind (its `kind` is its field in `RuleAction`)."""

ActionEffect = PointsEffect | BadgeEffect | ChallengeEffect | AttributeEffect
"""What an action can decide, one effect per kind (in the order of `Action`)."""


def load_action(
    ctx: LoadContext, doc: YamlDoc, path: Path, env: CelEnv, action: RuleAction
) -> Action | None:
    """Compile one action written at `path`: exactly one of `RuleAction`'s fields is set."""
    kinds = RuleAction.__struct_fields__
    chosen = [kind for kind in kinds if getattr(action, kind) is not None]
    if len(chosen) != 1:
        ctx.problems.append(
            doc.problem(
                path,
                f"an action needs exactly one of {', '.join(kinds)}"
                f" (found {', '.join(chosen) or 'none'})",
            )
        )
        return None
    where: Path = (*path, chosen[0])
    if action.points is not None:
        return load_points(ctx, doc, where, env, action.points)
    if action.badge is not None:
        return load_badge(ctx, doc, where, action.badge)
    if action.challenge is not None:
        return load_challenge_action(ctx, doc, where, env, action.challenge)
    assert action.attribute is not None, chosen
    return load_attribute(ctx, doc, where, env, action.attribute)


def action_expr(action: Action) -> CompiledExpr | None:
    """The expression the action runs when its rule fires (None: it runs none)."""
    match action:
        case PointsAction() | ChallengeAction() | AttributeAction():
            return action.expr
        case BadgeAction():
            return None
        case _:
            assert_never(action)


def action_effect(firing: Firing, action: Action, value: Any) -> ActionEffect | None:
    """What the action decides, given its expression's `value` (None for a badge); raises
    ValueError when the value is not one the kind accepts."""
    match action:
        case PointsAction():
            return points_effect(firing, value)
        case BadgeAction():
            return badge_effect(firing, action)
        case ChallengeAction():
            return challenge_effect(firing, action, value)
        case AttributeAction():
            return attribute_effect(firing, action, value)
        case _:
            assert_never(action)
