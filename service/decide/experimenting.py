"""Experiments in the decision step: the effects of a rule that declares an experiment are
booked by the member's arm. The holdout gets none of them; a variant gets its own points. Each
firing is recorded as an exposure with the points given (or, in the holdout, withheld), so reach
and cost compare across arms. The arm is never in the member's answer."""

from __future__ import annotations

from collections.abc import Sequence

from msgspec.structs import replace

from service.core.experiments import HOLDOUT, arm_of
from service.decide.rows import ExposureRow
from service.decide.step import Step
from service.engine import Effect, Event, PointsEffect, Ruleset

__all__ = ["by_arm"]


def by_arm(step: Step, ruleset: Ruleset, event: Event, effects: Sequence[Effect]) -> list[Effect]:
    """The effects to book for the member's arms, the exposures logged."""
    fired = {e.rule_id for e in effects}
    held: set[str] = set()
    points_of: dict[str, int] = {}
    for rule in ruleset.rules:
        if rule.experiment is None or rule.id not in fired:
            continue
        experiment = rule.experiment
        arm = arm_of(experiment, event.member_id)
        points = sum(
            e.points for e in effects if isinstance(e, PointsEffect) and e.rule_id == rule.id
        )
        variant = experiment.variant(arm)
        if variant is not None and variant.points is not None:
            points = points_of[rule.id] = variant.points
        if arm == HOLDOUT:
            held.add(rule.id)
        step.log.exposures.append(
            ExposureRow(
                member_id=event.member_id,
                experiment_id=experiment.id,
                event_id=event.id,
                rule_id=rule.id,
                arm=arm,
                at=event.occurred_at,
                points=points,
                given=arm != HOLDOUT,
            )
        )
    if not held and not points_of:
        return list(effects)
    out: list[Effect] = []
    for effect in effects:
        if effect.rule_id in held:
            continue
        if isinstance(effect, PointsEffect) and effect.rule_id in points_of:
            effect = replace(effect, points=points_of[effect.rule_id])
        out.append(effect)
    return out
