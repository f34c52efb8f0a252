"""Progress an event makes beyond the rules: challenge steps, streak days, badge levels and the
referral reward. Pure, like `evaluate`, which calls it after the rules with their effects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from service.core.badges import level_reached
from service.core.challenges import ChallengeProgress, advance, window_key
from service.core.streaks import late_run, unit_of
from service.engine.cel import CompiledExpr, run
from service.engine.effects import (
    AttributeEffect,
    BadgeEffect,
    ChallengeEffect,
    Effect,
    PointsEffect,
    ReferralEffect,
    Skip,
    StreakEffect,
)
from service.engine.events import Event
from service.engine.progress_defs import CompiledChallenge, CompiledStreak
from service.engine.ruleset import Ruleset
from service.engine.snapshot import MemberSnapshot, StreakHistory

__all__ = ["progress_effects"]


def _holds(expr: CompiledExpr | None, activation: Any) -> tuple[bool, str | None]:
    """Whether the condition holds, and the error if it failed to evaluate."""
    if expr is None:
        return True, None
    value, error = run(expr, activation)
    return error is None and value is True, error


def _amount(expr: CompiledExpr, activation: Any) -> tuple[int, str | None]:
    """The amount a formula gives (0 when it fails), and the error if it failed."""
    value, error = run(expr, activation)
    if error is not None:
        return 0, error
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0, f"gave {type(value).__name__}, not a number"
    return (max(0, math.floor(value)) if math.isfinite(value) else 0), None


class _Progress:
    def __init__(self, ruleset: Ruleset, snapshot: MemberSnapshot, event: Event, act: Any) -> None:
        self.ruleset, self.snapshot, self.event, self.act = ruleset, snapshot, event, act
        self.version = ruleset.version
        self.badges = set(snapshot.badges)
        self.effects: list[Effect] = []
        self.failures: list[Skip] = []
        """Conditions and amounts of challenges, streaks and the referral that failed to
        evaluate: reported with the rules' failures (`failed_rules`), counted as not met."""

    def holds(self, rule_id: str, expr: CompiledExpr | None) -> bool:
        held, error = _holds(expr, self.act)
        if error is not None:
            self.failures.append(Skip(rule_id, "error", f"condition failed: {error}"))
        return held

    def amount(self, rule_id: str, expr: CompiledExpr) -> int:
        value, error = _amount(expr, self.act)
        if error is not None:
            self.failures.append(Skip(rule_id, "error", f"amount failed: {error}"))
        return value

    def badge(self, rule_id: str, badge: str | None, reason: str) -> None:
        if badge is not None and badge not in self.badges:
            self.badges.add(badge)
            self.effects.append(BadgeEffect(rule_id, self.version, badge, reason))

    def challenge(self, challenge: CompiledChallenge, from_rules: int) -> None:
        tz = self.ruleset.program.timezone
        at = self.event.occurred_at
        key = window_key(challenge.every, challenge.start, challenge.end, at, tz)
        if key is None:
            return
        state = self.snapshot.challenges.get(challenge.id, ChallengeProgress())
        state = state.within(len(challenge.steps))
        if state.completed:
            return
        amount = from_rules
        step = challenge.steps[state.step]
        rule_id = f"challenge:{challenge.id}"
        if step.on == self.event.type and self.holds(rule_id, step.when):
            amount += 1 if step.amount is None else self.amount(rule_id, step.amount)
        if amount <= 0:
            return
        new, done = advance(challenge.targets, state, amount)
        if done:
            reason = f"completed challenge {challenge.name} ({key})"
        else:
            target = challenge.steps[new.step].target
            reason = (
                f"{challenge.name} ({key}): step {new.step + 1} of {len(challenge.steps)}, "
                f"{new.progress} of {target}"
            )
        self.effects.append(
            ChallengeEffect(
                rule_id,
                self.version,
                challenge.id,
                amount,
                reason,
                window_key=key,
                step=new.step + 1,  # answers count steps from 1
                progress=new.progress,
                target=challenge.steps[new.step].target,
                completed=done,
            )
        )
        if done and challenge.reward_points:
            self.effects.append(
                PointsEffect(rule_id, self.version, challenge.reward_points, reason)
            )
        if done:
            self.badge(rule_id, challenge.reward_badge, reason)

    def streak(self, streak: CompiledStreak) -> None:
        if self.event.type not in streak.on or not self.holds(
            f"streak:{streak.id}", streak.when.get(self.event.type)
        ):
            return
        tz = self.snapshot.timezone or self.ruleset.program.timezone
        unit = unit_of(streak.unit, self.event.occurred_at, tz)
        history = self.snapshot.streaks.get(streak.id, StreakHistory())
        if unit in history.units:
            return
        # Judged as of the run's last unit, not the wall clock: a late event counts on its
        # own day, and a run's milestones are paid once, up to the longest it ever was.
        run = late_run(history.units, unit, streak.unit, streak.freezes_per_month)
        paid = run.length_before
        if run.latest and history.run_start is not None and history.run_start >= run.run_start:
            paid = max(paid, history.rewarded)  # the latest run, continued or joined
        reached = [m for m in streak.milestones if paid < m.length <= run.length]
        run_start, rewarded = history.run_start, history.rewarded
        if run.latest:
            run_start, rewarded = run.run_start, max([paid, *(m.length for m in reached)])
        rule_id = f"streak:{streak.id}"
        word = "day" if streak.unit == "day" else "week"
        reason = f"{streak.name}: {run.length}-{word} streak"
        self.effects.append(
            StreakEffect(
                rule_id,
                self.version,
                streak.id,
                unit,
                run.length,
                max(history.longest, run.length),
                run_start,
                rewarded,
                reason,
            )
        )
        points = sum(m.points for m in reached)
        if points:
            lengths = ", ".join(str(m.length) for m in reached)
            why = f"{streak.name}: reached a {lengths}-{word} streak, {points} points"
            self.effects.append(PointsEffect(rule_id, self.version, points, why))
        for milestone in reached:
            self.badge(rule_id, milestone.badge, f"{streak.name}: {milestone.length}-{word} streak")

    def badge_levels(self, rule_effects: Sequence[Effect]) -> None:
        set_attrs = {e.name: e.value for e in rule_effects if isinstance(e, AttributeEffect)}
        for badge in self.ruleset.program.badges.values():
            if not badge.levels or badge.counter is None:
                continue
            if badge.counter.startswith("attributes."):
                name = badge.counter.removeprefix("attributes.")
                raw = set_attrs.get(name, self.snapshot.attributes.get(name, 0))
                value = raw if isinstance(raw, int) and not isinstance(raw, bool) else 0
                what = name.replace("_", " ")
            else:
                value = self.snapshot.event_counts.get(badge.counter, 0)
                value += 1 if self.event.type == badge.counter else 0
                what = f"{badge.counter} events"
            names = list(badge.levels)
            held = self.snapshot.badge_levels.get(badge.id, 0)
            for level in range(held + 1, level_reached(list(badge.levels.values()), value) + 1):
                self.badges.add(badge.id)
                self.effects.append(
                    BadgeEffect(
                        f"badge:{badge.id}",
                        self.version,
                        badge.id,
                        f"{badge.name} {names[level - 1]}: {value} {what}",
                        level=level,
                        level_name=names[level - 1],
                    )
                )

    def referral(self) -> None:
        policy, link = self.ruleset.referral, self.snapshot.referral
        if policy is None or link is None or link.rewarded or self.event.type != "purchase":
            return
        if not self.holds("referral:referee", policy.qualifying):
            return
        member = self.snapshot.member_id
        if policy.referee_points:
            self.effects.append(
                PointsEffect(
                    "referral:referee",
                    self.version,
                    policy.referee_points,
                    f"first qualifying purchase after being referred by {link.referrer_id}: "
                    f"{policy.referee_points} points",
                )
            )
        self.effects.append(
            ReferralEffect(
                "referral:referrer",
                self.version,
                link.referrer_id,
                policy.referrer_points,
                f"{member}, whom you referred, made a first qualifying purchase: "
                f"{policy.referrer_points} points",
            )
        )


def progress_effects(
    ruleset: Ruleset,
    snapshot: MemberSnapshot,
    event: Event,
    activation: Any,
    rule_effects: list[Effect],
) -> tuple[list[Effect], list[Skip]]:
    """The rule effects (challenge actions placed in their windows) plus what the event adds
    to challenges, streaks, levelled badges and the referral; and the conditions or amounts of
    those that failed to evaluate."""
    progress = _Progress(ruleset, snapshot, event, activation)
    kept = [e for e in rule_effects if not isinstance(e, ChallengeEffect)]
    progress.badges.update(e.badge for e in kept if isinstance(e, BadgeEffect))
    for challenge in ruleset.challenges:
        from_rules = sum(
            e.amount
            for e in rule_effects
            if isinstance(e, ChallengeEffect) and e.challenge == challenge.id
        )
        progress.challenge(challenge, from_rules)
    for streak in ruleset.streaks:
        progress.streak(streak)
    progress.badge_levels(kept)
    progress.referral()
    return [*kept, *progress.effects], progress.failures
