"""What a rule does to a member's event: actions, schedules, priorities, stop, caps, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from service.core.periods import period_key
from service.engine import (
    AttributeEffect,
    BadgeEffect,
    ChallengeEffect,
    Event,
    MemberSnapshot,
    PointsEffect,
    Ruleset,
    RuleUsage,
    UsageIncrement,
    evaluate,
    usage_key,
)

NOON = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
Make = Callable[..., Any]


def skip_reasons(result: Any) -> dict[str, str]:
    return {s.rule_id: s.reason for s in result.skipped}


def test_gold_members_purchase_earns_one_and_a_half_times(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset: Ruleset = make_ruleset(
        """
rules:
  - id: base
    on: purchase
    actions:
      - points: floor(event.amount * 10.0 * tier.multiplier)
    reason: >-
      purchase of {event.amount} {event.currency}: 10 points per EUR x {tier.name} {tier.multiplier}
"""
    )
    result = evaluate(
        ruleset, make_member(tier="gold", tier_multiplier=1.5), make_purchase("120.00"), NOON
    )
    assert result.effects == [
        PointsEffect(
            rule_id="base",
            ruleset_version=ruleset.version,
            points=1800,
            reason="purchase of 120.00 EUR: 10 points per EUR x gold 1.5",
        )
    ]
    assert result.fired == ["base"]


TIERED_PROGRAM = """\
program:
  name: Tiered Rewards
  timezone: Europe/Berlin
tiers:
  metric: points_earned
  window: calendar_year
  levels:
    - {id: member, name: Member, threshold: 0, multiplier: 1.0}
    - {id: gold, name: Gold Circle, threshold: 5000, multiplier: 1.5}
"""


def test_tier_name_is_the_name_program_yaml_gives_the_tier_not_its_id(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - id: base
    on: purchase
    when: tier.name == "Gold Circle" && member.tier == "gold"
    actions:
      - points: floor(event.amount * 10.0 * tier.multiplier)
    reason: "10 points per EUR x {tier.name} {tier.multiplier} ({member.tier})"
""",
        TIERED_PROGRAM,
    )
    result = evaluate(
        ruleset, make_member(tier="gold", tier_multiplier=1.5), make_purchase("120.00"), NOON
    )
    assert result.fired == ["base"]
    assert [e.reason for e in result.effects] == ["10 points per EUR x Gold Circle 1.5 (gold)"]
    # a tier the ladder does not have (a made-up member in a dry run) reads as its id
    other = evaluate(ruleset, make_member(tier="bronze"), make_purchase("120.00"), NOON)
    assert other.fired == []


def test_a_double_formula_is_floored(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        "rules:\n  - {id: r, on: purchase, actions: [{points: event.amount * 1.5}]}\n"
    )
    assert evaluate(ruleset, make_member(), make_purchase("9.99"), NOON).points == 14


def test_every_action_type(make_ruleset: Make, make_purchase: Make, make_member: Make) -> None:
    ruleset = make_ruleset(
        """
rules:
  - id: all
    on: purchase
    actions:
      - points: 5
      - badge: starter
      - challenge: {id: spend-march, amount: "int(event.amount)"}
      - attribute: {name: region, value: '"north"'}
    reason: "welcome"
challenges:
  - id: spend-march
    name: Spend in March
    every: month
    steps: [{on: refund, sum: "1", target: 100}]
    reward: {points: 50}
"""
    )
    result = evaluate(ruleset, make_member(), make_purchase("42.50"), NOON)
    v = ruleset.version
    # the challenge action is placed in the challenge's window (the month of the event)
    assert result.effects == [
        PointsEffect("all", v, 5, "welcome"),
        BadgeEffect("all", v, "starter", "welcome"),
        AttributeEffect("all", v, "region", "north", "welcome"),
        ChallengeEffect(
            "challenge:spend-march",
            v,
            "spend-march",
            42,
            "Spend in March (2026-06): step 1 of 1, 42 of 100",
            window_key="2026-06",
            step=1,
            progress=42,
            target=100,
        ),
    ]
    assert result.badges == ["starter"]


def test_a_badge_already_held_is_not_granted_again(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset("rules:\n  - {id: b, on: purchase, actions: [{badge: starter}]}\n")
    result = evaluate(ruleset, make_member(badges=frozenset({"starter"})), make_purchase(), NOON)
    assert result.effects == []
    assert result.fired == ["b"]


def test_conditions_read_member_counters_and_attributes(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - id: north-loyal
    on: purchase
    when: member.attributes.region == "north" && member.purchases >= 3 && "starter" in member.badges
    actions: [{points: 7}]
"""
    )
    from service.engine import MemberCounters

    loyal = make_member(
        attributes={"region": "north"},
        counters=MemberCounters(purchases=3),
        badges=frozenset({"starter"}),
    )
    assert evaluate(ruleset, loyal, make_purchase(), NOON).points == 7
    newcomer = make_member(attributes={"region": "north"})
    result = evaluate(ruleset, newcomer, make_purchase(), NOON)
    assert result.points == 0
    assert skip_reasons(result) == {"north-loyal": "condition_false"}


def test_rules_on_other_event_types_are_skipped_as_wrong_type(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset("rules:\n  - {id: r, on: review, actions: [{points: 1}]}\n")
    result = evaluate(ruleset, make_member(), make_purchase(), NOON)
    assert skip_reasons(result) == {"r": "wrong_type"}


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        (datetime(2026, 11, 30, 22, 59, 59, tzinfo=UTC), False),  # 23:59:59 Berlin, day before
        (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), True),  # start is inclusive
        (datetime(2026, 12, 6, 22, 59, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 6, 23, 0, tzinfo=UTC), False),  # end is exclusive
    ],
)
def test_schedule_start_inclusive_end_exclusive(
    make_ruleset: Make, make_purchase: Make, make_member: Make, at: datetime, fires: bool
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - id: advent
    on: purchase
    schedule: {start: 2026-12-01T00:00:00+01:00, end: 2026-12-07T00:00:00+01:00}
    actions: [{points: 100}]
"""
    )
    result = evaluate(ruleset, make_member(), make_purchase(at=at), at)
    assert ("advent" in result.fired) is fires
    if not fires:
        assert skip_reasons(result) == {"advent": "out_of_schedule"}


def test_a_naive_schedule_is_read_in_the_program_time_zone(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        "rules:\n  - {id: s, on: purchase, schedule: {start: 2026-12-01T00:00:00},"
        " actions: [{points: 1}]}\n"
    )
    assert ruleset.rules[0].start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


def test_higher_priority_fires_first_and_stop_halts_later_rules(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - {id: base, on: purchase, actions: [{points: 10}]}
  - id: promo
    on: purchase
    priority: 10
    when: event.amount >= 100.0
    stop: true
    actions: [{points: 30}]
  - {id: extra, on: purchase, priority: 5, actions: [{points: 1}]}
"""
    )
    big = evaluate(ruleset, make_member(), make_purchase("100.00"), NOON)
    assert big.fired == ["promo"]
    assert big.points == 30
    assert skip_reasons(big) == {
        "extra": "stopped_by_earlier_rule",
        "base": "stopped_by_earlier_rule",
    }
    small = evaluate(ruleset, make_member(), make_purchase("20.00"), NOON)
    assert small.fired == ["extra", "base"]
    assert small.points == 11


def test_stop_stops_the_points_of_later_rules_and_nothing_else(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    """A program manager's `stop` means "nobody gets both points": later badges, challenge
    amounts and attributes still apply, so a birthday month never costs a member a badge."""
    ruleset = make_ruleset(
        """
rules:
  - {id: base, on: purchase, actions: [{points: 10}]}
  - id: promo
    on: purchase
    priority: 10
    stop: true
    actions: [{points: 30}]
  - id: big
    on: purchase
    priority: 5
    when: event.amount >= 500.0
    actions: [{badge: big-spender}]
  - id: starter
    on: purchase
    priority: 5
    actions: [{points: 7}, {badge: starter}, {attribute: {name: region, value: '"north"'}}]
  - id: later-stop
    on: purchase
    priority: 4
    stop: true
    actions: [{attribute: {name: vip_note, value: '"big basket"'}}]
"""
    )
    result = evaluate(ruleset, make_member(), make_purchase("600.00"), NOON)
    assert result.fired == ["promo", "big", "starter", "later-stop"]
    assert result.points == 30
    assert result.badges == ["big-spender", "starter"]
    assert [type(e).__name__ for e in result.effects] == [
        "PointsEffect",
        "BadgeEffect",
        "BadgeEffect",
        "AttributeEffect",
        "AttributeEffect",
    ]
    assert [(s.rule_id, s.reason, s.detail) for s in result.skipped] == [
        (
            "base",
            "stopped_by_earlier_rule",
            "rule 'promo' fired and stops the points of later rules",
        )
    ]


def test_a_rule_whose_points_a_stop_blocks_uses_no_cap_and_grants_its_badge_once(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    """A stopped rule's other actions apply, but its cap counts the points it gives: a later
    purchase the same day still gets them. A second rule naming the same badge adds nothing,
    and a stopped rule left with nothing to do is reported as stopped, not as fired."""
    ruleset = make_ruleset(
        """
rules:
  - {id: promo, on: purchase, priority: 10, when: event.amount > 100.0, stop: true,
     actions: [{points: 30}]}
  - id: daily
    on: purchase
    priority: 5
    actions: [{points: 50}, {badge: starter}]
    caps:
      per_member:
        - {period: day, max_times: 1}
  - {id: again, on: purchase, priority: 4, actions: [{badge: starter}]}
"""
    )
    result = evaluate(ruleset, make_member(), make_purchase("600.00"), NOON)
    assert result.fired == ["promo", "daily", "again"]
    assert result.badges == ["starter"]
    assert [u.rule_id for u in result.usage] == []
    assert [e.rule_id for e in result.effects if isinstance(e, BadgeEffect)] == ["daily"]
    held = evaluate(
        ruleset, make_member(badges=frozenset({"starter"})), make_purchase("600.00"), NOON
    )
    assert held.fired == ["promo", "again"]
    assert {s.rule_id: s.reason for s in held.skipped}["daily"] == "stopped_by_earlier_rule"


CAPPED = """
rules:
  - id: capped
    on: purchase
    actions: [{points: 50}]
    caps:
      per_member:
        - {period: PERIOD, max_times: 2}
"""


@pytest.mark.parametrize("period", ["day", "week", "month", "year", "lifetime"])
def test_max_times_per_period(
    make_ruleset: Make, make_purchase: Make, make_member: Make, period: str
) -> None:
    ruleset = make_ruleset(CAPPED.replace("PERIOD", period))
    key = period_key(period, NOON, "Europe/Berlin")  # type: ignore[arg-type]
    once = make_member(rule_usage={usage_key("capped", key): RuleUsage(times=1, points=50)})
    result = evaluate(ruleset, once, make_purchase(), NOON)
    assert result.points == 50
    assert result.usage == [UsageIncrement("capped", key, 1, 50)]
    twice = make_member(rule_usage={usage_key("capped", key): RuleUsage(times=2, points=100)})
    result = evaluate(ruleset, twice, make_purchase(), NOON)
    assert result.points == 0
    assert skip_reasons(result) == {"capped": "cap_reached"}
    assert result.usage == []


def test_caps_count_in_the_period_of_occurrence_for_late_events(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(CAPPED.replace("PERIOD", "day"))
    late = datetime(2026, 6, 14, 22, 30, tzinfo=UTC)  # 00:30 on June 15th in Berlin
    usage = {usage_key("capped", "2026-06-14"): RuleUsage(times=2)}
    result = evaluate(ruleset, make_member(rule_usage=usage), make_purchase(at=late), NOON)
    assert result.usage == [UsageIncrement("capped", "2026-06-15", 1, 50)]


def test_max_points_trims_to_what_is_left(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - id: r
    on: purchase
    actions: [{points: floor(event.amount)}]
    caps:
      per_member:
        - {period: week, max_points: 500}
        - {period: lifetime, max_times: 100}
"""
    )
    week = period_key("week", NOON, "Europe/Berlin")
    usage = {usage_key("r", week): RuleUsage(times=3, points=450)}
    result = evaluate(ruleset, make_member(rule_usage=usage), make_purchase("120.00"), NOON)
    assert result.points == 50
    assert result.usage == [
        UsageIncrement("r", week, 1, 50),
        UsageIncrement("r", "lifetime", 1, 50),
    ]
    full = {usage_key("r", week): RuleUsage(times=4, points=500)}
    assert skip_reasons(evaluate(ruleset, make_member(rule_usage=full), make_purchase(), NOON)) == {
        "r": "cap_reached"
    }


def test_budget_marks_the_effect_and_reports_when_spent(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        "rules:\n  - {id: launch, on: purchase, actions: [{points: 100}], caps: {budget: 10000}}\n"
    )
    [effect] = evaluate(ruleset, make_member(), make_purchase(), NOON).effects
    assert isinstance(effect, PointsEffect)
    assert effect.budget == 10000
    nearly = evaluate(ruleset, make_member(budget_remaining={"launch": 40}), make_purchase(), NOON)
    assert nearly.points == 40
    spent = evaluate(ruleset, make_member(budget_remaining={"launch": 0}), make_purchase(), NOON)
    assert skip_reasons(spent) == {"launch": "cap_reached"}


def test_runtime_errors_skip_the_rule_without_crashing(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset(
        """
rules:
  - {id: div, on: purchase, actions: [{points: "100 / (member.purchases - member.purchases)"}]}
  - {id: missing, on: purchase, when: 'event.referral_code == "FRIEND"', actions: [{points: 1}]}
  - {id: unset-attr, on: purchase, when: 'member.attributes.vip_note != ""', actions: [{points: 1}]}
  - {id: infinite, on: purchase, actions: [{points: event.amount / 0.0}]}
  - {id: fine, on: purchase, actions: [{points: 3}]}
"""
    )
    result = evaluate(ruleset, make_member(), make_purchase(), NOON)
    assert result.fired == ["fine"]
    assert skip_reasons(result) == {
        "div": "error",
        "missing": "error",
        "unset-attr": "error",
        "infinite": "error",
    }
    details = {s.rule_id: s.detail for s in result.skipped}
    assert "divide by zero" in details["div"]
    assert "'event.referral_code' has no value" in details["missing"]


def test_negative_points_are_an_error(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    ruleset = make_ruleset("rules:\n  - {id: neg, on: purchase, actions: [{points: -5}]}\n")
    assert skip_reasons(evaluate(ruleset, make_member(), make_purchase(), NOON)) == {"neg": "error"}


def test_days_since_last_purchase_and_birthday_month(
    make_ruleset: Make, make_purchase: Make
) -> None:
    from datetime import date

    from service.engine import MemberCounters

    ruleset = make_ruleset(
        """
rules:
  - id: away
    on: purchase
    when: member.days_since_last_purchase > 90 || member.days_since_last_purchase == -1
    actions: [{points: 1}]
  - id: birthday
    on: purchase
    when: member.birthday_month == event.occurred_at.getMonth(member.timezone) + 1
    actions: [{points: 2}]
"""
    )
    never = MemberSnapshot(member_id="m", birthday=date(1990, 6, 1))
    assert evaluate(ruleset, never, make_purchase(), NOON).fired == ["away", "birthday"]
    recent = MemberSnapshot(
        member_id="m", counters=MemberCounters(last_purchase_at=datetime(2026, 6, 1, tzinfo=UTC))
    )
    assert evaluate(ruleset, recent, make_purchase(), NOON).fired == []


def test_custom_event_types_and_items(
    make_ruleset: Make, make_member: Make, program_yaml: str
) -> None:
    program = (
        program_yaml + "event_types:\n  workshop:\n    minutes: int\n    tags: list<string>?\n"
    )
    ruleset = make_ruleset(
        """
rules:
  - {id: w, on: workshop, when: '"yoga" in event.tags', actions: [{points: event.minutes * 2}]}
  - id: shoes
    on: purchase
    when: event.items.exists(i, i.category == "shoes" && i.price >= 50.0)
    actions: [{points: 40}]
""",
        program=program,
    )
    workshop = Event("w1", "workshop", "m-1", NOON, {"minutes": 45, "tags": ["yoga"]})
    assert evaluate(ruleset, make_member(), workshop, NOON).points == 90
    items = [{"sku": "S1", "category": "shoes", "quantity": 1, "price": Decimal("79.90")}]
    order = Event(
        "p1",
        "purchase",
        "m-1",
        NOON,
        {"order_id": "o", "amount": Decimal("79.90"), "currency": "EUR", "items": items},
    )
    assert evaluate(ruleset, make_member(), order, NOON).fired == ["shoes"]


def test_an_evaluation_encodes_as_json_with_tagged_effects(
    make_ruleset: Make, make_purchase: Make, make_member: Make
) -> None:
    import msgspec

    from service.engine import Effect, Evaluation

    ruleset = make_ruleset(
        "rules:\n  - {id: r, on: purchase, actions: [{points: 5}, {badge: starter}]}\n"
    )
    result = evaluate(ruleset, make_member(), make_purchase(), NOON)
    decoded = msgspec.json.decode(msgspec.json.encode(result), type=Evaluation)
    assert decoded == result
    effects = msgspec.json.decode(msgspec.json.encode(result.effects), type=list[Effect])
    assert [type(e).__name__ for e in effects] == ["PointsEffect", "BadgeEffect"]


def test_event_decoding_requires_an_aware_occurred_at() -> None:
    import msgspec

    body = b'{"id": "e", "type": "checkin", "member_id": "m", "occurred_at": "2026-01-01T00:00:00"}'
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=Event)
