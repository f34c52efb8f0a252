"""What the rule loader holds while it loads: the files, every problem found so far, and what
the sections loaded earlier declared (event types, attributes, badges, the time zone) for the
sections after them to check against. Every `*_load` module's functions take it first."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from service.engine.cel import CelEnv
from service.engine.events import AttributeSpec, EventTypeSpec
from service.engine.problems import Problem, did_you_mean
from service.engine.progress_defs import CompiledChallenge, CompiledReferral, CompiledStreak
from service.engine.yamldoc import Path, YamlDoc, parse_yaml

__all__ = ["ChallengeRef", "LoadContext", "check_badge", "known_event_type"]

ChallengeRef = tuple[YamlDoc, Path, str]
"""A rule action's challenge id and where it is written, checked once every file is loaded."""


class LoadContext:
    """The state of one load; nothing in it outlives the load but the ruleset built from it."""

    def __init__(self, files: dict[str, str], origin: str | None) -> None:
        self.files = dict(files)
        self.origin = origin
        self.problems: list[Problem] = []
        self.event_types: dict[str, EventTypeSpec] = {}
        self.member_attributes: dict[str, AttributeSpec] = {}
        self.envs: dict[str, CelEnv] = {}
        self.badges: set[str] = set()
        self.tz = "UTC"
        self.declared_ids: set[str] = set()
        """The ids of every rule decoded, compiled or not (the rule tests may name them)."""
        self.challenges: list[CompiledChallenge] = []
        self.streaks: list[CompiledStreak] = []
        self.referral: CompiledReferral | None = None
        self.challenge_refs: list[ChallengeRef] = []
        self.event_costs: dict[str, int] = {}
        """The summed cost (`costs.measure`) of the expressions loaded so far, per event type."""

    def display(self, name: str) -> str:
        """The file name problems give: under the origin, when there is one."""
        return f"{self.origin.rstrip('/')}/{name}" if self.origin else name

    def parse(self, name: str) -> YamlDoc | None:
        """Parse one of the files; its syntax problems join the others."""
        doc, problems = parse_yaml(self.display(name), self.files[name])
        self.problems.extend(problems)
        return doc

    def aware(self, at: datetime | None) -> datetime | None:
        """A time written without a zone, in the program's time zone."""
        return at if at is None or at.tzinfo else at.replace(tzinfo=ZoneInfo(self.tz))


def known_event_type(ctx: LoadContext, doc: YamlDoc, path: Path, name: str) -> bool:
    """Whether `name` is an event type; a problem when not (unless program.yaml failed)."""
    if name in ctx.event_types:
        return True
    if ctx.event_types:
        hint = did_you_mean(name, ctx.event_types)
        ctx.problems.append(doc.problem(path, f"unknown event type '{name}'{hint}"))
    return False


def check_badge(ctx: LoadContext, doc: YamlDoc, path: Path, badge: str | None) -> None:
    """A badge a reward names must be declared (unless program.yaml failed)."""
    if badge is not None and badge not in ctx.badges and ctx.event_types:
        hint = did_you_mean(badge, ctx.badges)
        ctx.problems.append(doc.problem(path, f"undeclared badge '{badge}'{hint}"))
