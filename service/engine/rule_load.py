"""Loading a rule file: its `rules:` compiled (condition, actions, reason, schedule, caps,
experiment), its challenges, streaks and referral, and its `tests:`."""

from __future__ import annotations

from typing import Any

import msgspec

from service.engine.actions import PLACEHOLDER, check_points_once, load_action
from service.engine.bounds import rule_numbers
from service.engine.cel import CelEnv
from service.engine.challenge_load import load_challenge
from service.engine.experiment_load import load_experiment
from service.engine.expression_load import compile_expr
from service.engine.files import ChallengeDef, ReferralDef, RuleDef, StreakDef, TestCase
from service.engine.load_context import LoadContext
from service.engine.problems import did_you_mean
from service.engine.referral_load import load_referral
from service.engine.rule_timing_load import load_caps, load_schedule
from service.engine.ruleset import CompiledRule, RuleTest
from service.engine.streak_load import load_streak
from service.engine.yamldoc import Path, YamlDoc, decode

__all__ = ["load_rule_file"]


class _RawRuleFile(msgspec.Struct, forbid_unknown_fields=True):
    rules: list[Any] = []
    challenges: list[Any] = []
    streaks: list[Any] = []
    referral: Any = None
    tests: list[Any] = []


def load_rule_file(
    ctx: LoadContext, name: str, rules: list[CompiledRule], tests: list[RuleTest]
) -> None:
    """Load one rule file: its rules into `rules`, its tests into `tests`, its challenges,
    streaks and referral into `ctx`."""
    doc = ctx.parse(name)
    if doc is None:
        return
    raw, problems = decode(doc, doc.data, (), _RawRuleFile)
    ctx.problems.extend(problems)
    if raw is None:
        return
    for i, item in enumerate(raw.rules):
        rule_def, problems = decode(doc, item, ("rules", i), RuleDef)
        ctx.problems.extend(problems)
        if rule_def is not None:
            ctx.declared_ids.add(rule_def.id)
            compiled = compile_rule(ctx, doc, ("rules", i), rule_def)
            if compiled is not None:
                rules.append(compiled)
    _load_progress(ctx, doc, raw)
    for i, item in enumerate(raw.tests):
        case, problems = decode(doc, item, ("tests", i), TestCase)
        ctx.problems.extend(problems)
        if case is not None:
            tests.append(RuleTest(doc.file, doc.pos(("tests", i)).line, case))


def _load_progress(ctx: LoadContext, doc: YamlDoc, raw: _RawRuleFile) -> None:
    for i, item in enumerate(raw.challenges):
        challenge, problems = decode(doc, item, ("challenges", i), ChallengeDef)
        ctx.problems.extend(problems)
        if challenge is not None:
            load_challenge(ctx, doc, ("challenges", i), challenge)
    for i, item in enumerate(raw.streaks):
        streak, problems = decode(doc, item, ("streaks", i), StreakDef)
        ctx.problems.extend(problems)
        if streak is not None:
            load_streak(ctx, doc, ("streaks", i), streak)
    if raw.referral is not None:
        policy, problems = decode(doc, raw.referral, ("referral",), ReferralDef)
        ctx.problems.extend(problems)
        load_referral(ctx, doc, policy)


def _env(ctx: LoadContext, doc: YamlDoc, path: Path, rule: RuleDef) -> CelEnv | None:
    env = ctx.envs.get(rule.on)
    if env is None and ctx.event_types:  # otherwise program.yaml failed and already said so
        hint = did_you_mean(rule.on, ctx.event_types)
        ctx.problems.append(doc.problem((*path, "on"), f"unknown event type '{rule.on}'{hint}"))
    return env


def compile_rule(ctx: LoadContext, doc: YamlDoc, path: Path, rule: RuleDef) -> CompiledRule | None:
    """Check and compile one rule (None when anything in it is refused)."""
    env = _env(ctx, doc, path, rule)
    if env is None:
        return None
    before = len(ctx.problems)
    when = None
    if isinstance(rule.when, str):
        when = compile_expr(ctx, doc, (*path, "when"), env, rule.when, ("BOOL",))
    elif rule.when is False:
        ctx.problems.append(
            doc.problem((*path, "when"), "'when: false' never fires; remove the rule")
        )
    compiled = [
        load_action(ctx, doc, (*path, "actions", i), env, action)
        for i, action in enumerate(rule.actions)
    ]
    check_points_once(ctx, doc, (*path, "actions"), rule.actions)
    if not rule.actions:
        ctx.problems.append(doc.problem((*path, "actions"), "a rule needs at least one action"))
    _check_reason(ctx, doc, (*path, "reason"), env, rule.reason)
    start, end = load_schedule(ctx, doc, path, rule)
    caps = load_caps(ctx, doc, path, rule)
    experiment = load_experiment(ctx, doc, path, rule)
    ctx.problems.extend(rule_numbers(doc, path, rule))
    if len(ctx.problems) > before:
        return None
    return CompiledRule(
        id=rule.id,
        on=rule.on,
        file=doc.file,
        line=doc.pos(path).line,
        priority=rule.priority,
        when=when,
        actions=tuple(a for a in compiled if a is not None),
        reason=rule.reason,
        start=start,
        end=end,
        stop=rule.stop,
        caps=caps,
        budget=rule.caps.budget if rule.caps else None,
        experiment=experiment,
    )


def _check_reason(
    ctx: LoadContext, doc: YamlDoc, path: Path, env: CelEnv, template: str | None
) -> None:
    for name in PLACEHOLDER.findall(template or ""):
        if name != "points" and name not in env.names:
            hint = did_you_mean(name, [*env.names, "points"])
            ctx.problems.append(
                doc.problem(path, f"unknown placeholder '{{{name}}}' in reason{hint}")
            )
