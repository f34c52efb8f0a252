"""Run the `tests:` blocks of rule files; the `loyalty rules check|test` commands behind the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import msgspec

from service.core.challenges import ChallengeProgress
from service.engine.evaluate import evaluate
from service.engine.events import Event, InvalidEvent, validate_event_attributes
from service.engine.files import TestCase, TestEngagement
from service.engine.loader import load_ruleset
from service.engine.problems import RulesetInvalid
from service.engine.ruleset import Ruleset, RuleTest
from service.engine.snapshot import (
    EngagementView,
    MemberCounters,
    MemberSnapshot,
    ReferralLink,
    StreakHistory,
)

__all__ = [
    "DEFAULT_TEST_TIME",
    "TestResult",
    "check_command",
    "run_rule_test",
    "run_rule_tests",
    "test_command",
]

DEFAULT_TEST_TIME = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
"""When a test gives neither `now` nor `event.occurred_at`, it happens at this instant."""


class TestResult(msgspec.Struct, frozen=True):
    """The outcome of one rule-file test."""

    __test__ = False  # not a pytest class

    name: str
    file: str
    line: int
    passed: bool
    message: str = ""


def _engagement(value: str | TestEngagement) -> EngagementView:
    """A test's engagement: a level alone (score 50), or score, level and components."""
    if isinstance(value, str):
        return EngagementView(level=value)
    return EngagementView(value.score, value.level, dict(value.components))


def _snapshot(ruleset: Ruleset, case: TestCase) -> MemberSnapshot:
    member = case.member
    c = member.counters
    multiplier = member.tier_multiplier
    return MemberSnapshot(
        member_id=member.id,
        tier=member.tier,
        tier_multiplier=ruleset.tier_multiplier(member.tier) if multiplier is None else multiplier,
        attributes=dict(member.attributes),
        timezone=member.timezone,
        birthday=date.fromisoformat(member.birthday) if member.birthday else None,
        counters=MemberCounters(
            c.purchases,
            c.reviews,
            c.referrals,
            c.lifetime_points,
            c.last_purchase_at,
            _engagement(c.engagement),
        ),
        badges=frozenset(member.badges) | frozenset(member.badge_levels),
        event_counts={"purchase": c.purchases, "review": c.reviews, "referral": c.referrals},
        badge_levels=dict(member.badge_levels),
        challenges={
            cid: ChallengeProgress(step=sp[0], progress=sp[1])
            for cid, sp in member.challenges.items()
        },
        streaks={sid: StreakHistory(units=tuple(days)) for sid, days in member.streaks.items()},
        referral=ReferralLink(member.referred_by) if member.referred_by else None,
    )


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def run_rule_test(ruleset: Ruleset, test: RuleTest) -> TestResult:
    """Evaluate one test's event for its member and compare with what it expects."""
    case = test.case
    occurred = _aware(case.event.occurred_at)
    now = _aware(case.now) or occurred or DEFAULT_TEST_TIME
    try:
        attributes = validate_event_attributes(
            ruleset, case.event.type, case.event.attributes, internal=True
        )
        snapshot = _snapshot(ruleset, case)
    except InvalidEvent as exc:
        return TestResult(case.name, test.file, test.line, False, f"bad event: {exc}")
    except ValueError as exc:
        return TestResult(case.name, test.file, test.line, False, f"bad member: {exc}")
    event = Event(case.event.id, case.event.type, snapshot.member_id, occurred or now, attributes)
    result = evaluate(ruleset, snapshot, event, now)
    expect = case.expect
    failures: list[str] = []
    if expect.points is not None and result.points != expect.points:
        failures.append(f"expected {expect.points} points, got {result.points}")
    if expect.badges is not None and sorted(result.badges) != sorted(expect.badges):
        failures.append(f"expected badges {sorted(expect.badges)}, got {sorted(result.badges)}")
    why = {s.rule_id: f"{s.reason}: {s.detail}" for s in result.skipped}
    for rule_id in expect.fired:
        if rule_id not in result.fired:
            failures.append(f"expected '{rule_id}' to fire ({why.get(rule_id, 'not tried')})")
    for rule_id in expect.not_fired:
        if rule_id in result.fired:
            failures.append(f"expected '{rule_id}' not to fire")
    return TestResult(case.name, test.file, test.line, not failures, "; ".join(failures))


def run_rule_tests(ruleset: Ruleset) -> list[TestResult]:
    """Run every test written in the ruleset's files, in file order."""
    return [run_rule_test(ruleset, test) for test in ruleset.tests]


def check_command(directory: Path) -> tuple[int, list[str]]:
    """`loyalty rules check`: 0 and a summary, or 1 and a `file:line:col: message` per problem."""
    try:
        ruleset = load_ruleset(directory)
    except RulesetInvalid as exc:
        lines = [str(p) for p in exc.problems]
        return 1, [*lines, f"{len(lines)} problem(s) found"]
    files = len(ruleset.files)
    return 0, [f"ok: {len(ruleset.rules)} rules in {files} files, version {ruleset.short_version}"]


def test_command(directory: Path) -> tuple[int, list[str]]:
    """`loyalty rules test`: a PASS/FAIL line per test and a summary; exit code 1 on any failure."""
    try:
        ruleset = load_ruleset(directory)
    except RulesetInvalid as exc:
        return 1, [str(p) for p in exc.problems]
    results = run_rule_tests(ruleset)
    lines = [
        f"PASS {r.name}" if r.passed else f"FAIL {r.name}: {r.message} ({r.file}:{r.line})"
        for r in results
    ]
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return (1 if failed else 0), lines


test_command.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
