"""Rule expressions cannot reach the process, files or environment, and cannot stall an event.

Pure: rule files are loaded with `load_ruleset_from_files` and evaluated with `evaluate`, no
database. Each hostile expression is refused when the files load, or bounded when it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service.engine import (
    Event,
    MemberSnapshot,
    RulesetInvalid,
    evaluate,
    load_ruleset_from_files,
)
from service.engine.cel import build_env, run
from service.engine.costs import (
    MAX_COMPREHENSION_DEPTH,
    MAX_SOURCE_CHARS,
    CostRefused,
    check_cost,
    estimate,
)

PROGRAM = """\
program:
  name: Safety
  timezone: UTC
"""
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
DIGITS = "[0,1,2,3,4,5,6,7,8,9]"


def _rules(when: str) -> dict[str, str]:
    quoted = when.replace("'", "''")
    rule = f"rules:\n  - id: hostile\n    on: purchase\n    when: '{quoted}'\n"
    rule += "    actions: [{points: 1}]\n"
    return {"program.yaml": PROGRAM, "hostile.yaml": rule}


def _problems(when: str) -> list[str]:
    try:
        load_ruleset_from_files(_rules(when), origin="rules")
    except RulesetInvalid as exc:
        return [str(problem) for problem in exc.problems]
    return []


def _purchase(**attributes: object) -> Event:
    return Event(
        id="e-1",
        type="purchase",
        member_id="m-1",
        occurred_at=NOW,
        attributes={"order_id": "o-1", "amount": Decimal("10"), "currency": "EUR", **attributes},
    )


REACHING_OUT = [
    'os.getenv("HOME") == ""',
    'environ["HOME"] == ""',
    '__import__("os") == null',
    'open("/etc/passwd") == ""',
    'read_file("/etc/passwd") == ""',
    'exec("import os") == null',
    'eval("1") == 1',
    'system("id") == 0',
    'event.__class__ == ""',
    "member.__dict__ == {}",
    '"".__class__.__mro__ == []',
    'getattr(event, "amount") == 1',
    "process.env == null",
]


@pytest.mark.parametrize("expression", REACHING_OUT)
def test_expressions_cannot_reach_the_process_files_or_environment(expression):
    problems = _problems(expression)
    assert problems, f"{expression!r} was accepted"
    assert all(p.startswith("rules/hostile.yaml:4:") for p in problems), problems


@pytest.mark.parametrize(
    "expression",
    [
        '"a" * 100000 == ""',  # CEL has no string repetition
        "[1] * 100000 == []",
        "(" * 200 + "true" + ")" * 200,  # cel-cpp's parser refuses deep nesting
        " + ".join(["1"] * 3000) + " > 0",
    ],
)
def test_size_tricks_are_refused_at_load_time(expression):
    assert _problems(expression), f"{expression[:60]!r} was accepted"


def _nested_maps(depth: int, over: str = DIGITS) -> str:
    body = "1"
    for level in range(depth):
        body = f"{over}.map(x{level}, {body})"
    return f"size({body}) > 0"


def test_the_cost_check_refuses_deep_nesting_long_text_and_many_iterations():
    assert estimate("event.amount > 0.0") == (0, 0)
    assert estimate(_nested_maps(2)) == (2, 110)
    assert estimate('"[1,2].map(x, x)" == ""') == (0, 0)  # inside a string literal
    check_cost(_nested_maps(MAX_COMPREHENSION_DEPTH))
    check_cost("event.items.exists(i, i.price > 1.0)")
    for costly in (
        _nested_maps(MAX_COMPREHENSION_DEPTH + 1),
        "event.items.exists(i, event.items.exists(j, i.price > j.price))",  # 1,000,000
        _nested_maps(2, over="[" + ",".join(["0"] * 200) + "]"),  # 40,200 iterations
        "true || " * (MAX_SOURCE_CHARS // 8) + "true",
    ):
        with pytest.raises(CostRefused):
            check_cost(costly)


@pytest.mark.parametrize(
    "expression",
    [
        _nested_maps(3),
        "event.items.exists(i, event.items.exists(j, i.price > j.price))",
        "true || " * (MAX_SOURCE_CHARS // 8) + "true",
    ],
)
def test_a_costly_expression_is_refused_at_load_time(expression):
    problems = _problems(expression)
    assert problems and "too" in problems[0], problems


def test_a_costly_expression_is_bounded_when_it_runs():
    """cel-cpp's iteration budget stops a comprehension that slipped through: it is an error,
    the rule does not fire, and the event is not stalled."""
    env = build_env("purchase", {}, {})
    for depth in (5, 7):
        compiled = env.compile(_nested_maps(depth), ("BOOL",))
        value, error = run(compiled, env.env.Activation({}))
        assert value is None and error and "budget" in error.lower()


def test_catastrophic_regex_runs_in_linear_time():
    """RE2 has no backtracking: `(a+)+$` on 100,000 a's and a mismatch is quick, at load and
    at evaluation."""
    ruleset = load_ruleset_from_files(_rules('event.order_id.matches("^(a+)+$")'))
    event = _purchase(order_id="a" * 100_000 + "!")
    evaluation = evaluate(ruleset, MemberSnapshot(member_id="m-1"), event, NOW)
    assert not evaluation.fired
    # a pattern RE2 cannot compile (backreferences) is an error, never a hang
    ruleset = load_ruleset_from_files(_rules('event.order_id.matches("(a)\\\\1")'))
    evaluation = evaluate(ruleset, MemberSnapshot(member_id="m-1"), event, NOW)
    assert not evaluation.fired


def test_a_rule_that_errors_does_not_stop_the_event():
    ruleset = load_ruleset_from_files(_rules("1 / (event.amount > 0.0 ? 0 : 1) == 1"))
    evaluation = evaluate(ruleset, MemberSnapshot(member_id="m-1"), _purchase(), NOW)
    assert not evaluation.fired
    assert [s.reason for s in evaluation.skipped] == ["error"]
