"""Every rule action kind is handled end to end: it has a syntax in rule files, a loader, an
evaluator and an applier, and the rule guide shows it. The kinds are read from the types
(`Action`, `ActionEffect`), so a kind added there and missed anywhere fails here; mypy's
`assert_never` in each `match` on them names the place."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from service.decide.answers import EventResult
from service.decide.state import Profile
from service.engine import load_ruleset_from_files
from service.engine.actions import Action, ActionEffect
from service.engine.effects import Effect
from service.engine.files import RuleAction
from service.replay.memory import MemoryStore
from service.replay.operations import EventOp, apply

ROOT = Path(__file__).resolve().parents[1]
KINDS: dict[str, Any] = {cls.kind: cls for cls in get_args(Action)}

PROGRAM = """\
program:
  name: Kinds
  timezone: UTC
member_attributes:
  region: string
badges:
  - id: starter
    name: Starter
"""

EXAMPLE = {
    "points": "points: 10",
    "badge": "badge: starter",
    "challenge": 'challenge: {id: three-refunds, amount: "1"}',
    "attribute": 'attribute: {name: region, value: "\\"north\\""}',
}
"""One action of each kind, as a rule file writes it."""

RULES = """\
rules:
  - id: the-rule
    on: purchase
    actions:
      - {action}
challenges:
  - id: three-refunds
    name: Three refunds (only the action advances it on a purchase)
    every: month
    steps: [{{on: refund, count: 3}}]
    reward: {{points: 50}}
"""

AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def _tag(struct_type: Any) -> Any:
    return struct_type.__struct_config__.tag


def test_each_kind_has_a_syntax_an_effect_and_an_example() -> None:
    assert list(KINDS) == list(RuleAction.__struct_fields__)
    assert [_tag(e) for e in get_args(ActionEffect)] == list(KINDS)
    assert set(get_args(ActionEffect)) <= set(get_args(Effect))
    assert set(EXAMPLE) == set(KINDS)


def test_each_kind_is_in_the_rule_guide() -> None:
    guide = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    section = guide[guide.index("## A rule, field by field") :]
    block = section[: section.index("```", section.index("```yaml") + 3)]
    for kind in KINDS:
        assert re.search(rf"^\s*(- |#\s+){kind}: ", block, re.MULTILINE), kind


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_loads_evaluates_and_is_booked(kind: str) -> None:
    files = {"program.yaml": PROGRAM, "rules.yaml": RULES.format(action=EXAMPLE[kind])}
    ruleset = load_ruleset_from_files(files)
    (rule,) = ruleset.rules
    assert [type(a) for a in rule.actions] == [KINDS[kind]]  # the loader
    store = MemoryStore(profiles={"m-1": Profile()})
    op = EventOp(
        seq=1,
        now=AT,
        version=ruleset.version,
        member_id="m-1",
        event_id="e-1",
        type="purchase",
        occurred_at=AT,
        attributes={"order_id": "o-1", "amount": 10, "currency": "EUR"},
        body_hash="h",
    )
    outcome = apply(store, ruleset, op).outcome  # the evaluator, then the applier
    assert isinstance(outcome, EventResult), outcome
    assert [_tag(type(e)) for e in outcome.effects] == [kind]
