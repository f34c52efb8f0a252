"""Pure evaluation: one event, one member snapshot, one ruleset in; effects and skips out.

Rules are tried in ruleset order (priority, then file order). A rule fires when its event type
matches, the event's `occurred_at` is inside its schedule, its condition holds, its per-member caps
(counted in the period of `occurred_at`, program time zone) leave room and its actions evaluate.
Points formulas may give an int or a double; a double is floored to an int.

A rule with `stop: true` that fires stops the points of every later rule: a later rule that only
awards points does not fire (`stopped_by_earlier_rule`); a later rule's other actions (badges,
challenge amounts, attributes) still apply, so a stop never costs a member a badge.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from service.core.periods import local_date, period_key
from service.engine.actions import Firing, action_effect, action_expr
from service.engine.cel import run
from service.engine.effects import BadgeEffect, Effect, Evaluation, Skip, UsageIncrement
from service.engine.events import Event, within_model
from service.engine.progress import progress_effects
from service.engine.ruleset import CompiledRule, Program, Ruleset
from service.engine.snapshot import MemberSnapshot, RuleUsage, usage_key

__all__ = ["cel_activation_data", "evaluate"]


def _cel_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return [{k: _cel_value(v) for k, v in item.items()} for item in value]
        return value
    return value


def _tier_name(program: Program, tier: str | None) -> str:
    """The name `program.yaml` gives a tier ("Gold"); its id when the ladder does not have it."""
    level = program.tiers.level(tier) if program.tiers is not None else None
    return level.name if level is not None else tier or ""


def cel_activation_data(
    ruleset: Ruleset, snapshot: MemberSnapshot, event: Event, now: datetime
) -> dict[str, Any]:
    """The CEL variables of one evaluation, by qualified name (`event.amount`, `member.tier`)."""
    program = ruleset.program
    spec = ruleset.event_types[event.type]
    tz = program.timezone
    counters = snapshot.counters
    last = counters.last_purchase_at
    at = local_date(event.occurred_at, tz)  # measured at the event, not the clock
    days_since = -1 if last is None else max(0, (at - local_date(last, tz)).days)
    data: dict[str, Any] = {
        "now": now,
        "event.type": event.type,
        "event.id": event.id,
        "event.member_id": event.member_id,
        "event.occurred_at": event.occurred_at,
        "member.id": snapshot.member_id,
        "member.tier": snapshot.tier or "",
        "member.purchases": counters.purchases,
        "member.reviews": counters.reviews,
        "member.referrals": counters.referrals,
        "member.lifetime_points": counters.lifetime_points,
        "member.days_since_last_purchase": days_since,
        "member.birthday_month": snapshot.birthday.month if snapshot.birthday else 0,
        "member.engagement.score": float(counters.engagement.score),
        "member.engagement.level": counters.engagement.level,
        "member.badges": sorted(snapshot.badges),
        "member.timezone": snapshot.timezone or program.timezone,
        "tier.name": _tier_name(program, snapshot.tier),  # `member.tier` is the id
        "tier.multiplier": float(snapshot.tier_multiplier),
    }
    for name, value in event.attributes.items():
        if name in spec.attributes and value is not None:
            data["event." + name] = _cel_value(value)
    for name in program.engagement_components:
        data["member.engagement." + name] = float(counters.engagement.components.get(name, 0.0))
    for name, value in snapshot.attributes.items():
        # a value larger than the cost model assumes (stored before the bounds) stays unbound:
        # a rule reading it fails for this event ("has no value"), the others run
        if name in program.member_attributes and value is not None and within_model(value):
            data["member.attributes." + name] = _cel_value(value)
    return data


class _Context:
    def __init__(
        self, ruleset: Ruleset, snapshot: MemberSnapshot, event: Event, now: datetime
    ) -> None:
        self.ruleset, self.snapshot, self.event = ruleset, snapshot, event
        env = ruleset.envs[event.type]
        self.data = cel_activation_data(ruleset, snapshot, event, now)
        self.activation = env.env.Activation(self.data)
        self.tz = ruleset.program.timezone
        self.granted: set[str] = set()
        """Badges the rules fired so far grant (two rules may name the same badge)."""


def _cap_room(ctx: _Context, rule: CompiledRule) -> tuple[str | None, int | None, list[str]]:
    """Return (why capped or None, points left or None for unlimited, period keys in play)."""
    left: int | None = None
    keys: list[str] = []
    for cap in rule.caps:
        key = period_key(cap.period, ctx.event.occurred_at, ctx.tz)
        keys.append(key)
        used = ctx.snapshot.rule_usage.get(usage_key(rule.id, key), RuleUsage())
        if cap.max_times is not None and used.times >= cap.max_times:
            return (
                f"fired {used.times} of {cap.max_times} times this {cap.period} ({key})",
                None,
                keys,
            )
        if cap.max_points is not None:
            room = cap.max_points - used.points
            if room <= 0:
                return (
                    f"{used.points} of {cap.max_points} points used this {cap.period} ({key})",
                    None,
                    keys,
                )
            left = room if left is None else min(left, room)
    if rule.budget is not None and rule.id in ctx.snapshot.budget_remaining:
        remaining = ctx.snapshot.budget_remaining[rule.id]
        if remaining <= 0:
            return f"global budget of {rule.budget} points is spent", None, keys
        left = remaining if left is None else min(left, remaining)
    return None, left, keys


def _fire(
    ctx: _Context, rule: CompiledRule, points_stopped: bool
) -> tuple[list[Effect], list[UsageIncrement]] | Skip:
    capped, left, keys = _cap_room(ctx, rule)
    if capped is not None:
        return Skip(rule.id, "cap_reached", capped)
    firing = Firing(
        rule_id=rule.id,
        reason=rule.reason,
        budget=rule.budget,
        version=ctx.ruleset.version,
        data=ctx.data,
        event=ctx.event,
        held=ctx.snapshot.badges | ctx.granted,
        left=left,
    )
    effects: list[Effect] = []
    for action in rule.actions:
        if points_stopped and action.gives_points:
            continue
        value: Any = None
        expr = action_expr(action)
        if expr is not None:
            value, error = run(expr, ctx.activation)
            if error is not None:
                return Skip(rule.id, "error", f"{action.kind}: {error}")
        try:
            effect = action_effect(firing, action, value)
        except ValueError as exc:
            return Skip(rule.id, "error", str(exc))
        effects.extend([effect] if effect is not None else [])
    if points_stopped:  # only the rule's other actions ran: its caps count points, not these
        if not effects and any(action.gives_points for action in rule.actions):
            return Skip(rule.id, "stopped_by_earlier_rule", "an earlier rule stops its points")
        return effects, []
    return effects, [UsageIncrement(rule.id, key, 1, firing.given) for key in keys]


def _not_met(ctx: _Context, rule: CompiledRule) -> Skip | None:
    """Why a rule on the event's type does not fire: out of its schedule, or its condition
    false or failed (None: it fires)."""
    at = ctx.event.occurred_at
    if (rule.start is not None and at < rule.start) or (rule.end is not None and at >= rule.end):
        return Skip(
            rule.id, "out_of_schedule", f"event at {at.isoformat()} is outside the rule's schedule"
        )
    if rule.when is None:
        return None
    holds, error = run(rule.when, ctx.activation)
    if error is not None:
        return Skip(rule.id, "error", f"condition: {error}")
    if holds is not True:
        return Skip(rule.id, "condition_false", f"condition is false: {rule.when.source.strip()}")
    return None


def evaluate(ruleset: Ruleset, snapshot: MemberSnapshot, event: Event, now: datetime) -> Evaluation:
    """Decide what `event` earns `snapshot`'s member under `ruleset`; pure, `now` is a parameter."""
    effects: list[Effect] = []
    skipped: list[Skip] = []
    usage: list[UsageIncrement] = []
    fired: list[str] = []
    ctx = _Context(ruleset, snapshot, event, now) if event.type in ruleset.envs else None
    stopper: str | None = None
    for rule in ruleset.rules:
        if ctx is None or rule.on != event.type:
            skipped.append(Skip(rule.id, "wrong_type", f"rule is on {rule.on} events"))
            continue
        if stopper is not None and rule.only_points:
            skipped.append(
                Skip(
                    rule.id,
                    "stopped_by_earlier_rule",
                    f"rule '{stopper}' fired and stops the points of later rules",
                )
            )
            continue
        refused = _not_met(ctx, rule)
        if refused is not None:
            skipped.append(refused)
            continue
        outcome = _fire(ctx, rule, points_stopped=stopper is not None)
        if isinstance(outcome, Skip):
            skipped.append(outcome)
            continue
        effects.extend(outcome[0])
        ctx.granted.update(e.badge for e in outcome[0] if isinstance(e, BadgeEffect))
        usage.extend(outcome[1])
        fired.append(rule.id)
        if rule.stop and stopper is None:
            stopper = rule.id
    if ctx is not None:
        effects, failures = progress_effects(ruleset, snapshot, event, ctx.activation, effects)
        skipped.extend(failures)
    return Evaluation(ruleset.version, effects, skipped, usage, fired)
