"""The `attribute` action: set a declared member attribute to a CEL value of its type."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from service.engine.actions.firing import Firing
from service.engine.cel import CelEnv, CompiledExpr
from service.engine.events import MAX_LIST, MAX_MEMBER_STRING
from service.engine.expression_load import compile_expr
from service.engine.files import AttributeAction as AttributeActionDef
from service.engine.load_context import LoadContext
from service.engine.problems import did_you_mean
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["AttributeAction", "AttributeEffect", "attribute_effect", "load_attribute"]


class AttributeEffect(msgspec.Struct, frozen=True, tag="attribute"):
    """Set a member attribute."""

    rule_id: str
    ruleset_version: str
    name: str
    value: Any
    reason: str


class AttributeAction(msgspec.Struct, frozen=True):
    """`attribute: {name, value}`, the value compiled to the attribute's type."""

    kind: ClassVar[str] = "attribute"
    gives_points: ClassVar[bool] = False
    name: str
    expr: CompiledExpr


def load_attribute(
    ctx: LoadContext, doc: YamlDoc, path: Path, env: CelEnv, action: AttributeActionDef
) -> AttributeAction | None:
    """Check the attribute is declared and compile the value to its type."""
    name = action.name
    if name not in ctx.member_attributes:
        hint = did_you_mean(name, ctx.member_attributes)
        ctx.problems.append(
            doc.problem((*path, "name"), f"undeclared member attribute '{name}'{hint}")
        )
        return None
    want = env.env.compile("member.attributes." + name).return_type().name()
    expr = compile_expr(ctx, doc, (*path, "value"), env, action.value, (want,))
    return AttributeAction(name, expr) if expr else None


def attribute_effect(firing: Firing, action: AttributeAction, value: Any) -> AttributeEffect:
    """The value to set; refused (ValueError) when larger than a member attribute may be."""
    if isinstance(value, str) and len(value) > MAX_MEMBER_STRING:
        raise ValueError(f"attribute value longer than {MAX_MEMBER_STRING} characters")
    if isinstance(value, list) and (
        len(value) > MAX_LIST
        or any(not isinstance(v, str) or len(v) > MAX_MEMBER_STRING for v in value)
    ):
        raise ValueError(
            f"attribute value too large: at most {MAX_LIST} strings of {MAX_MEMBER_STRING} "
            "characters"
        )
    reason = firing.reason(f"rule '{firing.rule_id}'")
    return AttributeEffect(firing.rule_id, firing.version, action.name, value, reason)
