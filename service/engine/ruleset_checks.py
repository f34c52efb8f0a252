"""Checks across the files, once every file is loaded: rule and experiment ids unique, the
challenges rule actions name declared, the rules rule tests name present."""

from __future__ import annotations

from service.engine.load_context import LoadContext
from service.engine.problems import Problem, did_you_mean
from service.engine.ruleset import CompiledRule, RuleTest

__all__ = ["check_challenge_refs", "check_rule_ids", "check_tests"]


def check_rule_ids(ctx: LoadContext, rules: list[CompiledRule]) -> None:
    """One rule per id, one rule per experiment."""
    seen: dict[str, CompiledRule] = {}
    experiments: dict[str, CompiledRule] = {}
    for rule in rules:
        if rule.experiment is not None:
            owner = experiments.setdefault(rule.experiment.id, rule)
            if owner is not rule:
                message = (
                    f"experiment '{rule.experiment.id}' is already the experiment of "
                    f"rule '{owner.id}' ({owner.file}:{owner.line})"
                )
                ctx.problems.append(Problem(rule.file, rule.line, 1, message))
        first = seen.setdefault(rule.id, rule)
        if first is not rule:
            where = f"{first.file}:{first.line}"
            message = f"duplicate rule id '{rule.id}' (first defined at {where})"
            ctx.problems.append(Problem(rule.file, rule.line, 1, message))


def check_challenge_refs(ctx: LoadContext) -> None:
    """Every challenge a rule action advances is declared in one of the files."""
    declared = {c.id for c in ctx.challenges}
    for doc, path, challenge_id in ctx.challenge_refs:
        if challenge_id not in declared:
            hint = did_you_mean(challenge_id, declared)
            ctx.problems.append(doc.problem(path, f"undeclared challenge '{challenge_id}'{hint}"))


def check_tests(ctx: LoadContext, tests: list[RuleTest]) -> None:
    """Every rule a rule test expects to fire (or not) is declared."""
    rule_ids = ctx.declared_ids
    for test in tests:
        for rule_id in (*test.case.expect.fired, *test.case.expect.not_fired):
            if rule_id not in rule_ids:
                hint = did_you_mean(rule_id, rule_ids)
                message = f"test '{test.case.name}' names unknown rule '{rule_id}'{hint}"
                ctx.problems.append(Problem(test.file, test.line, 1, message))
