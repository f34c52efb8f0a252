"""The `badge` action: grant a badge declared in `program.yaml`, once."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from service.engine.actions.firing import Firing
from service.engine.load_context import LoadContext
from service.engine.problems import did_you_mean
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["BadgeAction", "BadgeEffect", "badge_effect", "load_badge"]


class BadgeEffect(msgspec.Struct, frozen=True, tag="badge"):
    """Grant a badge; for a levelled badge, `level` (1 = first) and its name."""

    rule_id: str
    ruleset_version: str
    badge: str
    reason: str
    level: int = 0
    level_name: str | None = None


class BadgeAction(msgspec.Struct, frozen=True):
    """`badge: <id>`, checked against the declared badges."""

    kind: ClassVar[str] = "badge"
    gives_points: ClassVar[bool] = False
    badge: str


def load_badge(ctx: LoadContext, doc: YamlDoc, path: Path, badge: str) -> BadgeAction | None:
    """The badge at `path` (`...actions[i].badge`), if declared."""
    if badge not in ctx.badges:
        hint = did_you_mean(badge, ctx.badges)
        ctx.problems.append(doc.problem(path, f"undeclared badge '{badge}'{hint}"))
        return None
    return BadgeAction(badge)


def badge_effect(firing: Firing, action: BadgeAction) -> BadgeEffect | None:
    """The grant, unless the member holds the badge already."""
    if action.badge in firing.held:
        return None
    reason = firing.reason(f"rule '{firing.rule_id}'")
    return BadgeEffect(firing.rule_id, firing.version, action.badge, reason)
