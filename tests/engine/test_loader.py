"""A bad rule file is refused with file:line:col and a reason; all problems are reported at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from service.engine import Ruleset, RulesetInvalid, load_ruleset, load_ruleset_from_files

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"


def problems_of(files: dict[str, str]) -> list[str]:
    with pytest.raises(RulesetInvalid) as info:
        load_ruleset_from_files(files, origin="rules")
    return [str(p) for p in info.value.problems]


def test_the_shipped_demo_program_loads() -> None:
    ruleset = load_ruleset(RULES_DIR)
    assert ruleset.program.name == "Northwind Outfitters Rewards"
    assert ruleset.program.timezone == "Europe/Berlin"
    assert ruleset.program.points.pending_days == {"purchase": 14}
    assert {r.id for r in ruleset.program.rewards} == {"voucher-5-eur", "tote-bag", "free-shipping"}
    assert ruleset.program.badges["reviewer"].levels == {"bronze": 1, "silver": 10, "gold": 50}
    assert "earn.yaml" in ruleset.files
    assert len(ruleset.version) == 64


def test_rules_are_ordered_by_priority_then_file_order(
    make_ruleset: Callable[..., Ruleset],
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - {id: low, on: checkin, actions: [{points: 1}]}
  - {id: high, on: checkin, priority: 5, actions: [{points: 1}]}
  - {id: low-2, on: checkin, actions: [{points: 1}]}
""",
        **{"a.yaml": "rules:\n  - {id: a-first, on: checkin, actions: [{points: 1}]}\n"},
    )
    assert [r.id for r in ruleset.rules] == ["high", "a-first", "low", "low-2"]


def test_unknown_field_is_refused_with_position_and_did_you_mean(program_yaml: str) -> None:
    rules = """\
rules:
  - id: earn
    on: purchase
    actions:
      - points: 10
    priorty: 3
"""
    assert problems_of({"program.yaml": program_yaml, "earn.yaml": rules}) == [
        "rules/earn.yaml:6:5: unknown field 'priorty' in rule (did you mean 'priority'?)"
    ]


def test_unknown_event_attribute_is_refused_with_did_you_mean(program_yaml: str) -> None:
    rules = (
        "rules:\n  - id: earn\n    on: purchase\n    when: event.ammount > 10.0\n"
        "    actions: [{points: 1}]\n"
    )
    assert problems_of({"program.yaml": program_yaml, "earn.yaml": rules}) == [
        "rules/earn.yaml:4:16: unknown attribute 'event.ammount' on purchase events"
        " (did you mean 'amount'?)"
    ]


def test_unknown_member_attribute_and_field_are_refused(program_yaml: str) -> None:
    rules = """\
rules:
  - id: a
    on: checkin
    when: member.attributes.regoin == "north"
    actions: [{points: 1}]
  - id: b
    on: checkin
    when: member.reviewz > 1
    actions: [{points: 1}]
"""
    assert problems_of({"program.yaml": program_yaml, "r.yaml": rules}) == [
        "rules/r.yaml:4:28: undeclared member attribute 'regoin' (did you mean 'region'?)",
        "rules/r.yaml:8:17: unknown member field 'reviewz' (did you mean 'reviews'?)",
    ]


def test_cel_syntax_error_points_into_the_expression(program_yaml: str) -> None:
    rules = (
        'rules:\n  - id: a\n    on: purchase\n    when: "event.amount > 1.0 &&"\n'
        "    actions: [{points: 1}]\n"
    )
    [problem] = problems_of({"program.yaml": program_yaml, "r.yaml": rules})
    assert problem.startswith("rules/r.yaml:4:33: Syntax error")


def test_block_scalar_errors_land_on_the_right_line(program_yaml: str) -> None:
    rules = """\
rules:
  - id: a
    on: review
    when: |
      event.rating >= 4 &&
        event.has_foto
    actions: [{points: 1}]
"""
    assert problems_of({"program.yaml": program_yaml, "r.yaml": rules}) == [
        "rules/r.yaml:6:14: unknown attribute 'event.has_foto' on review events"
        " (did you mean 'has_photo'?)"
    ]


def test_wrong_result_types_are_refused(program_yaml: str) -> None:
    rules = """\
rules:
  - id: a
    on: purchase
    when: event.amount
    actions:
      - points: "'ten'"
  - id: b
    on: purchase
    actions:
      - points: event.amount * 10
"""
    assert problems_of({"program.yaml": program_yaml, "r.yaml": rules}) == [
        "rules/r.yaml:4:11: expression gives double, expected bool",
        "rules/r.yaml:6:18: expression gives string, expected int or double",
        "rules/r.yaml:10:30: found no matching overload for '_*_' applied to '(double, int)'",
    ]


def test_all_problems_in_all_files_are_collected(program_yaml: str) -> None:
    program = program_yaml.replace("Europe/Berlin", "Europe/Berlim")
    one = """\
rules:
  - id: dup
    on: purchse
    actions: [{points: 1}]
  - id: badge
    on: review
    actions: [{badge: strater}]
"""
    two = """\
rules:
  - id: dup
    on: checkin
    actions: [{points: 1}]
  - id: dup
    on: checkin
    actions: [{points: 1, badge: starter}]
  - id: attr
    on: checkin
    actions: [{attribute: {name: regio, value: '"north"'}}]
"""
    problems = problems_of({"program.yaml": program, "one.yaml": one, "two.yaml": two})
    assert problems == [
        "rules/one.yaml:3:9: unknown event type 'purchse' (did you mean 'purchase'?)",
        "rules/one.yaml:7:23: undeclared badge 'strater' (did you mean 'starter'?)",
        "rules/program.yaml:3:13: unknown time zone 'Europe/Berlim'",
        "rules/two.yaml:7:15: an action needs exactly one of points, badge, challenge, attribute"
        " (found points, badge)",
        "rules/two.yaml:10:34: undeclared member attribute 'regio' (did you mean 'region'?)",
    ]


def test_duplicate_rule_ids_across_files_are_refused(program_yaml: str) -> None:
    rule = "rules:\n  - {id: same, on: checkin, actions: [{points: 1}]}\n"
    assert problems_of({"program.yaml": program_yaml, "a.yaml": rule, "b.yaml": rule}) == [
        "rules/b.yaml:2:1: duplicate rule id 'same' (first defined at rules/a.yaml:2)"
    ]


def test_yaml_syntax_error_is_positioned(program_yaml: str) -> None:
    [problem] = problems_of({"program.yaml": program_yaml, "a.yaml": "rules:\n  - id: [oops\n"})
    assert problem.startswith("rules/a.yaml:3:1: YAML syntax error")


def test_a_character_yaml_does_not_allow_is_a_positioned_problem(program_yaml: str) -> None:
    # found by tests/test_route_fuzz.py: the reader's error is no syntax error, and was a 500
    text = "rules:\n  - id: a\x1b\n"
    [problem] = problems_of({"program.yaml": program_yaml, "a.yaml": text})
    assert problem.startswith("rules/a.yaml:2:10: YAML does not allow U+001B"), problem


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("0000-0-0T0:00:00\n", "1:1"),  # found by tests/test_route_fuzz.py: a 500
        ("rules:\n  - id: a\n    since: 2026-13-45\n", "3:12"),
        ("rules: !!python/name:os.system\n", "1:8"),
    ],
)
def test_a_scalar_yaml_cannot_read_is_a_positioned_problem(program_yaml, text, where):
    problems = problems_of({"program.yaml": program_yaml, "a.yaml": text})
    assert any(p.startswith(f"rules/a.yaml:{where}: cannot read") for p in problems), problems


def test_program_problems_are_positioned(program_yaml: str) -> None:
    program = (
        program_yaml
        + """\
event_types:
  workshop:
    minutes: integer
rewards:
  - {id: r, name: R, cost: 0, coupon: {}}
"""
    )
    problems = problems_of({"program.yaml": program})
    assert problems == [
        "rules/program.yaml:14:14: unknown attribute type 'integer' (did you mean 'int'?)",
        "rules/program.yaml:16:28: cost must be a positive number of points",
        "rules/program.yaml:16:39: coupon needs exactly one of 'codes' or 'prefix'",
    ]


def test_missing_program_file_is_a_problem() -> None:
    assert problems_of({"a.yaml": "rules: []\n"}) == ["rules/program.yaml: file is missing"]


def test_tests_naming_unknown_rules_are_refused(program_yaml: str) -> None:
    rules = """\
rules:
  - {id: checkin-point, on: checkin, actions: [{points: 1}]}
tests:
  - name: t
    event: {type: checkin}
    expect: {fired: [checkin-points]}
"""
    assert problems_of({"program.yaml": program_yaml, "a.yaml": rules}) == [
        "rules/a.yaml:4:1: test 't' names unknown rule 'checkin-points'"
        " (did you mean 'checkin-point'?)"
    ]


def test_version_changes_when_any_file_changes(program_yaml: str) -> None:
    rules = "rules:\n  - {id: a, on: checkin, actions: [{points: 1}]}\n"
    first = load_ruleset_from_files({"program.yaml": program_yaml, "a.yaml": rules})
    again = load_ruleset_from_files({"a.yaml": rules, "program.yaml": program_yaml})
    changed = load_ruleset_from_files({"program.yaml": program_yaml, "a.yaml": rules + "# note\n"})
    renamed = load_ruleset_from_files({"program.yaml": program_yaml, "b.yaml": rules})
    assert first.version == again.version
    assert len({first.version, changed.version, renamed.version}) == 3
    assert first.files["a.yaml"] == rules
    assert first.short_version == first.version[:16]


def test_a_rule_with_two_points_actions_is_refused(program_yaml: str) -> None:
    rules = """\
rules:
  - id: earn
    on: checkin
    actions:
      - points: 10
      - points: 5
"""
    assert problems_of({"program.yaml": program_yaml, "earn.yaml": rules}) == [
        "rules/earn.yaml:6:9: a rule gives points once: put the amounts in one 'points' formula"
    ]
