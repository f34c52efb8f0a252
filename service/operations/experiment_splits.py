"""An experiment's split is fixed once it started (first published or served): publishing a
change to it is refused, naming the rule's file and line, since the members already exposed
must keep their arms."""

from __future__ import annotations

from service.engine import Problem, Ruleset
from service.errors import RulesetRefused
from service.store import experiments as experiment_store
from service.store.database import Connection

__all__ = ["start_experiments"]


async def start_experiments(conn: Connection, ruleset: Ruleset) -> None:
    """Record the ruleset's new experiments; RulesetRefused naming each rule whose experiment
    started with another split (the assignment of exposed members must stay fixed)."""
    rules = {r.experiment.id: r for r in ruleset.rules if r.experiment is not None}
    if not rules:
        return
    stored = await experiment_store.stored_splits(conn, sorted(rules))
    problems = []
    for experiment_id, (split, started_at) in stored.items():
        rule = rules[experiment_id]
        assert rule.experiment is not None
        if dict(split) != rule.experiment.split():
            problems.append(
                Problem(
                    rule.file,
                    rule.line,
                    1,
                    f"experiment '{experiment_id}' started {started_at:%Y-%m-%d} with the split "
                    f"{_split_text(split)}; it cannot change to "
                    f"{_split_text(rule.experiment.split())} (start a new experiment id)",
                )
            )
    if problems:
        raise RulesetRefused(problems)
    new = {i: r.experiment.split() for i, r in rules.items() if i not in stored and r.experiment}
    await experiment_store.record_splits(conn, new, ruleset.version)


def _split_text(split: dict[str, int]) -> str:
    return ", ".join(f"{arm} {bp / 100:g}%" for arm, bp in split.items())
