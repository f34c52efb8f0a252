"""Checking the catalog of `program.yaml`: rewards (ids, costs, coupons) and badges (ids, and
a levelled badge's thresholds and counter). Declared badges join the load context."""

from __future__ import annotations

from service.engine.files import BadgeDef, ProgramFile
from service.engine.load_context import LoadContext, known_event_type
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["check_badge_levels", "check_catalog"]


def check_catalog(ctx: LoadContext, doc: YamlDoc, parsed: ProgramFile) -> None:
    """Reward and badge ids are unique, costs positive, a coupon has one source of codes."""
    seen: set[str] = set()
    for i, reward in enumerate(parsed.rewards):
        path: Path = ("rewards", i)
        if reward.id in seen:
            ctx.problems.append(doc.problem((*path, "id"), f"duplicate reward id '{reward.id}'"))
        seen.add(reward.id)
        if reward.cost <= 0:
            ctx.problems.append(
                doc.problem((*path, "cost"), "cost must be a positive number of points")
            )
        coupon = reward.coupon
        if coupon is not None and (coupon.codes is None) == (coupon.prefix is None):
            ctx.problems.append(
                doc.problem((*path, "coupon"), "coupon needs exactly one of 'codes' or 'prefix'")
            )
    for i, badge in enumerate(parsed.badges):
        if badge.id in ctx.badges:
            ctx.problems.append(
                doc.problem(("badges", i, "id"), f"duplicate badge id '{badge.id}'")
            )
        ctx.badges.add(badge.id)


def check_badge_levels(ctx: LoadContext, doc: YamlDoc, index: int, badge: BadgeDef) -> None:
    """A levelled badge needs rising positive thresholds and a counter that exists."""
    path: Path = ("badges", index)
    if badge.levels is None:
        if badge.counter is not None:
            ctx.problems.append(
                doc.problem((*path, "counter"), "a counter needs 'levels' to count towards")
            )
        return
    thresholds = list(badge.levels.values())
    if not thresholds or thresholds != sorted(set(thresholds)) or thresholds[0] <= 0:
        ctx.problems.append(
            doc.problem((*path, "levels"), "level thresholds must be positive and rising")
        )
    counter = badge.counter
    if counter is None:
        ctx.problems.append(
            doc.problem(path, "a levelled badge needs 'counter': an event type or attributes.X")
        )
    elif counter.startswith("attributes."):
        name = counter.removeprefix("attributes.")
        spec = ctx.member_attributes.get(name)
        if spec is None or spec.type != "int":
            ctx.problems.append(
                doc.problem((*path, "counter"), f"'{name}' is not a declared int attribute")
            )
    else:
        known_event_type(ctx, doc, (*path, "counter"), counter)
