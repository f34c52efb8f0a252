"""Numbers and dates in program.yaml and the rule files are bounded: nonsense (a negative
stock, a hold that times out before it starts) and values that would break something later
(a timeout past date arithmetic, a count past its column) are refused at the value."""

from __future__ import annotations

import pytest

from service.engine import RulesetInvalid, load_ruleset_from_files

PROGRAM = """\
program:
  name: Numbers
  timezone: UTC
  points:
    hold_timeout_minutes: {hold}
    pending_days: {{purchase: {pending}}}
    expiry: {{kind: rolling, days: {expiry}}}
rewards:
  - {{id: r, name: R, cost: {cost}, stock: {stock}, per_member_limit: {limit}}}
badges:
  - {{id: b, name: B}}
tiers:
  metric: points_earned
  grace_days: {grace}
  levels:
    - {{id: base, threshold: 0}}
    - {{id: gold, threshold: {threshold}, multiplier: {multiplier}}}
"""
GOOD = {
    "hold": 15,
    "pending": 14,
    "expiry": 365,
    "cost": 500,
    "stock": 10,
    "limit": 1,
    "grace": 30,
    "threshold": 1000,
    "multiplier": 1.5,
}
RULES = """\
rules:
  - id: earn
    on: purchase
    priority: {priority}
    schedule: {{start: {start}}}
    caps: {{budget: {budget}, per_member: [{{period: day, max_times: {times}}}]}}
    actions: [{{points: 1}}]
challenges:
  - id: c
    name: C
    every: week
    steps: [{{on: checkin, count: {count}}}]
    reward: {{points: {reward}}}
streaks:
  - id: s
    name: S
    on: [checkin]
    freezes_per_month: {freezes}
    milestones: [{{length: {length}, points: {milestone}}}]
referral: {{referrer_points: {referrer}}}
"""
GOOD_RULES = {
    "priority": 5,
    "start": "2026-01-01T00:00:00Z",
    "budget": 100000,
    "times": 3,
    "count": 5,
    "reward": 100,
    "freezes": 2,
    "length": 7,
    "milestone": 50,
    "referrer": 500,
}


def problems_of(program: dict[str, object], rules: dict[str, object]) -> list[str]:
    files = {
        "program.yaml": PROGRAM.format(**{**GOOD, **program}),
        "r.yaml": RULES.format(**{**GOOD_RULES, **rules}),
    }
    try:
        load_ruleset_from_files(files, origin="rules")
    except RulesetInvalid as exc:
        return [str(p) for p in exc.problems]
    return []


def test_the_good_values_load():
    assert problems_of({}, {}) == []


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("hold", -5, "program.yaml:5:27"),  # the probe's
        ("hold", 0, "program.yaml:5:27"),
        ("hold", 10**12, "program.yaml:5:27"),  # past what a timedelta can add
        ("pending", -1, "program.yaml:6:30"),
        ("expiry", 0, "program.yaml:7:35"),
        ("expiry", 10**9, "program.yaml:7:35"),
        ("stock", -1, "program.yaml:9:40"),  # the probe's
        ("stock", 10**10, "program.yaml:9:40"),
        ("limit", 0, "program.yaml:9:62"),
        ("cost", 10**16, "program.yaml:9:28"),
        ("grace", 10**6, "program.yaml:14:15"),
        ("threshold", ".nan", "program.yaml:17:29"),
        ("multiplier", 1e6, "program.yaml:17:47"),
        ("multiplier", ".inf", "program.yaml:17:47"),
    ],
)
def test_program_numbers_out_of_bounds_are_refused_at_the_value(field, value, where):
    problems = problems_of({field: value}, {})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"rules/{where}: must be "), problems


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("priority", 10**9, "r.yaml:4:15"),
        ("start", "9999-12-31T23:59:59Z", "r.yaml:5:23"),
        ("budget", 10**16, "r.yaml:6:20"),
        ("times", 10**10, "r.yaml:6:66"),
        ("count", 10**10, "r.yaml:12:34"),
        ("reward", 10**16, "r.yaml:13:22"),
        ("freezes", 32, "r.yaml:18:24"),
        ("freezes", -1, "r.yaml:18:24"),
        ("length", 10**6, "r.yaml:19:27"),
        ("milestone", -5, "r.yaml:19:38"),
        ("referrer", 10**16, "r.yaml:20:29"),
    ],
)
def test_rule_numbers_out_of_bounds_are_refused_at_the_value(field, value, where):
    problems = problems_of({}, {field: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"rules/{where}: must be "), problems
