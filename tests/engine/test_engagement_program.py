"""`engagement:` in program.yaml: components and levels loaded, problems refused with file and
line, and rules reading `member.engagement.score`, `.level` and each component."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.engine import Ruleset, RulesetInvalid, load_ruleset_from_files, run_rule_tests

PROGRAM = """\
program:
  name: Test Rewards
  timezone: Europe/Berlin
"""
ENGAGEMENT = """\
engagement:
  components:
    recency: {kind: recency, half_life_days: 14, weight: 40}
    purchases: {kind: count, events: [purchase], half_life_days: 30, target: 5, weight: 40}
    spend: {kind: amount, half_life_days: 60, target: 300, weight: 20}
  levels:
    - {id: asleep, threshold: 0}
    - {id: awake, threshold: 30}
    - {id: fan, threshold: 80, name: Superfan}
"""

RULES = """\
rules:
  - id: fan-bonus
    on: purchase
    when: member.engagement.level == "fan" && member.engagement.purchases >= 0.5
    actions:
      - points: 50
  - id: low-score
    on: purchase
    when: member.engagement.score < 30.0
    actions:
      - points: 5
tests:
  - name: a fan with half their purchases target gets the bonus
    member:
      counters: {engagement: {level: fan, score: 85, components: {purchases: 0.6}}}
    event: {type: purchase, attributes: {order_id: o1, amount: "10.00", currency: EUR}}
    expect: {points: 50, fired: [fan-bonus], not_fired: [low-score]}
  - name: a level alone reads as a score of 50
    member:
      counters: {engagement: asleep}
    event: {type: purchase, attributes: {order_id: o1, amount: "10.00", currency: EUR}}
    expect: {points: 0, not_fired: [fan-bonus, low-score]}
"""


def _problems(program: str, rules: str = "rules: []\n") -> list[str]:
    with pytest.raises(RulesetInvalid) as info:
        load_ruleset_from_files({"program.yaml": program, "r.yaml": rules}, origin="rules")
    return [str(p) for p in info.value.problems]


def test_the_program_declares_components_and_levels_rules_read_them() -> None:
    ruleset = load_ruleset_from_files({"program.yaml": PROGRAM + ENGAGEMENT, "r.yaml": RULES})
    engagement = ruleset.program.engagement
    assert [c.id for c in engagement.components] == ["recency", "purchases", "spend"]
    assert [(lv.id, lv.name, lv.threshold) for lv in engagement.levels] == [
        ("asleep", "Asleep", 0),
        ("awake", "Awake", 30),
        ("fan", "Superfan", 80),
    ]
    recency = engagement.components[0]
    assert "count:purchase" in recency.metrics and "count:refund" not in recency.metrics
    assert engagement.components[2].metrics == ("spend",)
    assert engagement.components[2].unit == 60  # a fifth of the target by default
    results = run_rule_tests(ruleset)
    assert [r.passed for r in results] == [True, True], [r.message for r in results]


def test_without_a_declaration_the_seed_levels_apply(make_ruleset: Callable[..., Ruleset]) -> None:
    ruleset = make_ruleset("rules: []\n")
    levels = [lv.id for lv in ruleset.program.engagement.levels]
    assert levels == ["disengaged", "at_risk", "moderately_engaged", "highly_engaged"]
    assert [c.id for c in ruleset.program.engagement.components] == ["recency", "frequency"]


def test_an_unknown_component_is_refused_where_the_rule_reads_it() -> None:
    rules = """\
rules:
  - id: r
    on: purchase
    when: member.engagement.reviews > 0.5
    actions:
      - points: 1
"""
    problems = _problems(PROGRAM + ENGAGEMENT, rules)
    assert len(problems) == 1 and problems[0].startswith("rules/r.yaml:4:")
    assert "unknown engagement component 'member.engagement.reviews'" in problems[0]


def test_the_old_string_engagement_is_refused_with_a_position() -> None:
    rules = """\
rules:
  - id: r
    on: purchase
    when: member.engagement == "at_risk"
    actions:
      - points: 1
"""
    problems = _problems(PROGRAM, rules)
    assert len(problems) == 1 and problems[0].startswith("rules/r.yaml:4:")
    assert "read member.engagement.level" in problems[0]


def test_bad_engagement_declarations_are_positioned() -> None:
    bad = """\
engagement:
  components:
    score: {kind: recency, half_life_days: 14, weight: 40}
    purchases: {kind: count, events: [purchse], half_life_days: 0, weight: -1}
    spend: {kind: amount, events: [purchase], half_life_days: 60, target: 300, weight: 20}
  levels:
    - {id: low, threshold: 5}
    - {id: high, threshold: 3}
"""
    problems = _problems(PROGRAM + bad)
    first = PROGRAM.count("\n") + 1  # the line of `engagement:`
    assert problems == [
        f"rules/program.yaml:{first + 2}:5: 'score' cannot name a component "
        "(score, level are taken)",
        f"rules/program.yaml:{first + 3}:23: a 'count' component needs a target > 0",
        f"rules/program.yaml:{first + 3}:39: unknown event type 'purchse' (did you mean "
        "'purchase'?)",
        f"rules/program.yaml:{first + 3}:65: half_life_days must be > 0",
        f"rules/program.yaml:{first + 3}:76: weight must be > 0",
        f"rules/program.yaml:{first + 4}:35: an 'amount' component reads 'of', not events",
        f"rules/program.yaml:{first + 6}:28: the lowest level's threshold must be 0",
        f"rules/program.yaml:{first + 7}:29: thresholds must rise from one level to the next",
    ]


def test_an_unknown_field_in_a_component_is_refused_with_did_you_mean() -> None:
    bad = """\
engagement:
  components:
    recency: {kind: recency, half_life: 14, weight: 40}
"""
    problems = _problems(PROGRAM + bad)
    assert len(problems) == 1 and "half_life" in problems[0]
    assert problems[0].startswith(f"rules/program.yaml:{PROGRAM.count(chr(10)) + 3}:")
