"""The `challenge` action: advance a declared challenge by a CEL int amount (where the
challenge stands after it is worked out with the program's own steps, in `progress`)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from service.engine.actions.firing import MAX_POINTS, Firing
from service.engine.cel import CelEnv, CompiledExpr
from service.engine.expression_load import compile_expr
from service.engine.files import ChallengeAction as ChallengeActionDef
from service.engine.load_context import LoadContext
from service.engine.yamldoc import Path, YamlDoc

__all__ = [
    "ChallengeAction",
    "ChallengeEffect",
    "StepNumber",
    "challenge_effect",
    "load_challenge_action",
]

StepNumber = Annotated[
    int,
    msgspec.Meta(
        description="The challenge step the member is on, counted from 1 (step 1 of `steps`); "
        "on a completed challenge, its last step."
    ),
]
"""How every answer numbers a challenge's steps: from 1, as people read them."""


class ChallengeEffect(msgspec.Struct, frozen=True, tag="challenge"):
    """Advance a challenge by `amount`; once placed in its window, where it now stands (`step`
    counted from 1; 0 only on a rule's action before it is placed)."""

    rule_id: str
    ruleset_version: str
    challenge: str
    amount: int
    reason: str
    window_key: str = ""
    step: StepNumber = 0
    progress: int = 0
    target: int = 0
    completed: bool = False


class ChallengeAction(msgspec.Struct, frozen=True):
    """`challenge: {id, amount}`, the amount compiled."""

    kind: ClassVar[str] = "challenge"
    gives_points: ClassVar[bool] = False
    challenge: str
    expr: CompiledExpr


def load_challenge_action(
    ctx: LoadContext, doc: YamlDoc, path: Path, env: CelEnv, action: ChallengeActionDef
) -> ChallengeAction | None:
    """Compile the amount; the id is checked once every file's challenges are loaded."""
    ctx.challenge_refs.append((doc, (*path, "id"), action.id))
    expr = compile_expr(ctx, doc, (*path, "amount"), env, action.amount, ("INT",))
    return ChallengeAction(action.id, expr) if expr else None


def challenge_effect(firing: Firing, action: ChallengeAction, value: Any) -> ChallengeEffect:
    """The amount the formula's `value` adds; refused (ValueError) unless an int in range."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"challenge amount {value!r} is not an int")
    if not 0 <= value <= MAX_POINTS:
        raise ValueError(f"challenge amount {value} is out of range")
    reason = firing.reason(f"rule '{firing.rule_id}'")
    return ChallengeEffect(firing.rule_id, firing.version, action.challenge, value, reason)
