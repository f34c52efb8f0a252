"""Bounds on the numbers and dates of `program.yaml` and the rule files.

A number outside them is nonsense (a negative stock, a hold that times out before it is
taken) or would break something later (a timeout past what date arithmetic can add, a count
past its 32-bit column). Each check gives a problem at the value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from service.engine.actions.firing import MAX_POINTS
from service.engine.events import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP
from service.engine.files import ChallengeDef, ProgramFile, ReferralDef, RuleDef, StreakDef
from service.engine.problems import Problem
from service.engine.yamldoc import Path, YamlDoc

__all__ = [
    "MAX_COUNT",
    "MAX_DAYS",
    "MAX_HOLD_MINUTES",
    "MAX_MULTIPLIER",
    "MAX_POINTS",
    "MAX_PRIORITY",
    "challenge_numbers",
    "in_calendar",
    "out_of_bounds",
    "program_numbers",
    "referral_numbers",
    "rule_numbers",
    "streak_numbers",
]

MAX_COUNT = 1_000_000_000
"""Most of anything counted (stock, times, steps, thresholds): inside the 32-bit columns."""
MAX_DAYS = 36_600
"""Longest period in days (pending, expiry, windows, grace, streak lengths): 100 years."""
MAX_HOLD_MINUTES = 10_080
"""Longest a redemption hold may wait to be confirmed: a week."""
MAX_MULTIPLIER = 100.0
"""Largest tier multiplier."""
MAX_PRIORITY = 1_000_000

Check = tuple[Path, float | int | None, float, float]
"""(path of the value, the value or None when absent, lowest, highest)."""


def out_of_bounds(doc: YamlDoc, checks: Iterable[Check]) -> list[Problem]:
    """A problem at each value outside its bounds (or not a finite number)."""
    problems: list[Problem] = []
    for path, value, low, high in checks:
        if value is None:
            continue
        if not math.isfinite(value) or not low <= value <= high:
            text = f"from {_show(low)} to" if math.isfinite(low) else "at most"
            problems.append(doc.problem(path, f"must be {text} {_show(high)}"))
    return problems


def _show(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() else f"{bound:g}"


def in_calendar(doc: YamlDoc, path: Path, at: datetime | None) -> list[Problem]:
    """A problem when `at` lies outside the years the engine computes with (1900 to 2199)."""
    if at is None:
        return []
    aware = at if at.tzinfo else at.replace(tzinfo=EARLIEST_TIMESTAMP.tzinfo)
    if EARLIEST_TIMESTAMP <= aware < LATEST_TIMESTAMP:
        return []
    return [doc.problem(path, "must be a time from the years 1900 to 2199")]


MAX_POINT_VALUE = 1_000_000
"""Most one point may cost, in the program's currency."""


def program_numbers(doc: YamlDoc, parsed: ProgramFile) -> list[Problem]:
    """Bounds on the numbers of `program.yaml`."""
    points = parsed.program.points
    checks: list[Check] = [
        (
            ("program", "points", "hold_timeout_minutes"),
            points.hold_timeout_minutes,
            1,
            MAX_HOLD_MINUTES,
        ),
        (("program", "points", "expiry", "days"), points.expiry.days, 1, MAX_DAYS),
        (("program", "points", "value"), points.value, 0, MAX_POINT_VALUE),
    ]
    checks += [
        (("program", "points", "pending_days", name), days, 0, MAX_DAYS)
        for name, days in points.pending_days.items()
    ]
    for i, reward in enumerate(parsed.rewards):
        checks += [
            (("rewards", i, "cost"), reward.cost, -math.inf, MAX_POINTS),  # > 0: check_catalog
            (("rewards", i, "stock"), reward.stock, 0, MAX_COUNT),
            (("rewards", i, "per_member_limit"), reward.per_member_limit, 1, MAX_COUNT),
        ]
    for i, badge in enumerate(parsed.badges):
        checks += [
            (("badges", i, "levels", name), value, -math.inf, MAX_COUNT)
            for name, value in (badge.levels or {}).items()
        ]
    tiers = parsed.tiers
    if tiers is not None:
        rolling = None if isinstance(tiers.window, str) else tiers.window.rolling_days
        checks += [
            (("tiers", "window", "rolling_days"), rolling, -math.inf, MAX_DAYS),
            (("tiers", "grace_days"), tiers.grace_days, -math.inf, MAX_DAYS),
        ]
        for i, level in enumerate(tiers.levels):
            checks += [
                (("tiers", "levels", i, "threshold"), level.threshold, 0, MAX_POINTS),
                (("tiers", "levels", i, "multiplier"), level.multiplier, 0, MAX_MULTIPLIER),
            ]
    return out_of_bounds(doc, checks)


def rule_numbers(doc: YamlDoc, path: Path, rule: RuleDef) -> list[Problem]:
    """Bounds on a rule's priority, caps and schedule (their signs are checked elsewhere)."""
    checks: list[Check] = [((*path, "priority"), rule.priority, -MAX_PRIORITY, MAX_PRIORITY)]
    if rule.caps is not None:
        checks.append(((*path, "caps", "budget"), rule.caps.budget, -math.inf, MAX_POINTS))
        for i, cap in enumerate(rule.caps.per_member):
            where = (*path, "caps", "per_member", i)
            checks += [
                ((*where, "max_times"), cap.max_times, -math.inf, MAX_COUNT),
                ((*where, "max_points"), cap.max_points, -math.inf, MAX_POINTS),
            ]
    problems = out_of_bounds(doc, checks)
    if rule.schedule is not None:
        problems += in_calendar(doc, (*path, "schedule", "start"), rule.schedule.start)
        problems += in_calendar(doc, (*path, "schedule", "end"), rule.schedule.end)
    return problems


def challenge_numbers(doc: YamlDoc, path: Path, challenge: ChallengeDef) -> list[Problem]:
    """Bounds on a challenge's reward, step targets and dates."""
    checks: list[Check] = [
        ((*path, "reward", "points"), challenge.reward.points, -math.inf, MAX_POINTS)
    ]
    for i, step in enumerate(challenge.steps):
        checks += [
            ((*path, "steps", i, "count"), step.count, -math.inf, MAX_COUNT),
            ((*path, "steps", i, "target"), step.target, -math.inf, MAX_COUNT),
        ]
    problems = out_of_bounds(doc, checks)
    problems += in_calendar(doc, (*path, "start"), challenge.start)
    problems += in_calendar(doc, (*path, "end"), challenge.end)
    return problems


def streak_numbers(doc: YamlDoc, path: Path, streak: StreakDef) -> list[Problem]:
    """Bounds on a streak's freezes and milestones."""
    checks: list[Check] = [((*path, "freezes_per_month"), streak.freezes_per_month, 0, 31)]
    for i, milestone in enumerate(streak.milestones):
        checks += [
            ((*path, "milestones", i, "length"), milestone.length, -math.inf, MAX_DAYS),
            ((*path, "milestones", i, "points"), milestone.points, 0, MAX_POINTS),
        ]
    return out_of_bounds(doc, checks)


def referral_numbers(doc: YamlDoc, referral: ReferralDef) -> list[Problem]:
    """Bounds on the referral policy's points and cap."""
    path: Path = ("referral",)
    return out_of_bounds(
        doc,
        [
            ((*path, "referrer_points"), referral.referrer_points, -math.inf, MAX_POINTS),
            ((*path, "referee_points"), referral.referee_points, -math.inf, MAX_POINTS),
            ((*path, "max_per_referrer"), referral.max_per_referrer, -math.inf, MAX_COUNT),
        ],
    )
