"""The compiled, immutable ruleset: program policies, event types and rules in firing order."""

from __future__ import annotations

from datetime import datetime

import msgspec

from service.core.boards import Board
from service.core.engagement import EngagementProgram, default_engagement
from service.core.experiments import Experiment
from service.core.periods import Period
from service.core.tiers import TierProgram
from service.engine.actions import Action
from service.engine.cel import CelEnv, CompiledExpr
from service.engine.events import AttributeSpec, EventTypeSpec
from service.engine.files import BadgeDef, PointsPolicy, RewardDef, TestCase
from service.engine.progress_defs import CompiledChallenge, CompiledReferral, CompiledStreak

__all__ = [
    "CompiledCap",
    "CompiledRule",
    "Program",
    "RuleTest",
    "Ruleset",
]


class CompiledCap(msgspec.Struct, frozen=True):
    """A per-member cap over a period."""

    period: Period
    max_times: int | None = None
    max_points: int | None = None


class CompiledRule(msgspec.Struct, frozen=True):
    """A rule ready to evaluate; `reason` is a template (`{points} points for {event.amount}`)."""

    id: str
    on: str
    file: str
    line: int
    priority: int
    when: CompiledExpr | None
    actions: tuple[Action, ...]
    reason: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    stop: bool = False
    caps: tuple[CompiledCap, ...] = ()
    budget: int | None = None
    experiment: Experiment | None = None

    @property
    def only_points(self) -> bool:
        """Every action awards points: a `stop` earlier in the event leaves it nothing to do."""
        return all(action.gives_points for action in self.actions)


class Program(msgspec.Struct, frozen=True):
    """The program's identity and policies, as the ledger and the catalog need them."""

    name: str
    timezone: str
    currency: str
    points: PointsPolicy
    rewards: tuple[RewardDef, ...]
    badges: dict[str, BadgeDef]
    member_attributes: dict[str, AttributeSpec]
    tiers: TierProgram | None = None
    leaderboards: tuple[Board, ...] = ()
    engagement: EngagementProgram = default_engagement(("purchase", "review", "referral"))
    """The composite engagement score (the loader always sets the program's own)."""

    @property
    def engagement_components(self) -> tuple[str, ...]:
        """The ids of the engagement components (`member.engagement.<id>` in rules)."""
        return tuple(c.id for c in self.engagement.components)


class RuleTest(msgspec.Struct, frozen=True):
    """A test case from a rule file, with where it was written."""

    file: str
    line: int
    case: TestCase


class Ruleset(msgspec.Struct, frozen=True):
    """A loaded ruleset. `version` is the sha256 (hex) of its files; `files` keeps their text."""

    version: str
    files: dict[str, str]
    program: Program
    event_types: dict[str, EventTypeSpec]
    rules: tuple[CompiledRule, ...]
    tests: tuple[RuleTest, ...]
    envs: dict[str, CelEnv]
    challenges: tuple[CompiledChallenge, ...] = ()
    streaks: tuple[CompiledStreak, ...] = ()
    referral: CompiledReferral | None = None

    @property
    def short_version(self) -> str:
        """The first 16 hex digits of the version, for display."""
        return self.version[:16]

    def rule(self, rule_id: str) -> CompiledRule | None:
        """Return the rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)

    @property
    def experiments(self) -> dict[str, Experiment]:
        """The experiments the rules declare, by id."""
        return {r.experiment.id: r.experiment for r in self.rules if r.experiment is not None}

    def challenge(self, challenge_id: str) -> CompiledChallenge | None:
        """Return the challenge with this id, if any."""
        return next((c for c in self.challenges if c.id == challenge_id), None)

    def tier_multiplier(self, tier: str | None) -> float:
        """The multiplier of a tier (1.0 for none, or without tiers)."""
        level = self.program.tiers.level(tier) if self.program.tiers else None
        return level.multiplier if level else 1.0
