"""Loading the gamification sections: tiers and levelled badges in `program.yaml`; challenges,
streaks and the referral policy in rule files. A mixin of the loader, which owns the state."""

from __future__ import annotations

from typing import Any

from service.core.tiers import TierLevel, TierProgram
from service.engine.bounds import challenge_numbers, referral_numbers, streak_numbers
from service.engine.cel import CelCompileError, CelEnv, CompiledExpr
from service.engine.costs import MAX_EVENT_COST, check_length, measure, variable_shape
from service.engine.events import AttributeSpec, EventTypeSpec
from service.engine.files import BadgeDef, ChallengeDef, ReferralDef, StreakDef, TiersDef
from service.engine.problems import Problem, did_you_mean
from service.engine.progress_defs import (
    CompiledChallenge,
    CompiledReferral,
    CompiledStep,
    CompiledStreak,
)
from service.engine.yamldoc import Path, YamlDoc, decode

__all__ = ["ProgressLoader"]


class ProgressLoader:
    """What the loader knows, and the checks of the gamification sections."""

    problems: list[Problem]
    envs: dict[str, CelEnv]
    badges: set[str]
    event_types: dict[str, EventTypeSpec]
    member_attributes: dict[str, AttributeSpec]
    tz: str
    challenges: list[CompiledChallenge]
    streaks: list[CompiledStreak]
    referral: CompiledReferral | None
    event_costs: dict[str, int]
    """The summed cost (`costs.measure`) of the expressions loaded so far, per event type."""

    def compile_expr(
        self, doc: YamlDoc, path: Path, env: CelEnv, source: str, expected: tuple[str, ...]
    ) -> CompiledExpr | None:
        """Compile a CEL expression found at `path`; a refusal becomes a positioned problem."""
        try:
            check_length(source)
            compiled = env.compile(source, expected)
            # refuse expressions too costly to evaluate, at load time: nothing can stop one
            # once it runs
            shapes = {name: variable_shape(t) for name, t in env.declared.items()}
            cost = measure(compiled, shapes)
        except CelCompileError as exc:
            pos = doc.pos(path)
            line = pos.text_line + exc.line - 1
            col = (
                pos.text_col + exc.col - 1 if exc.line == 1 or pos.style in ("|", ">") else exc.col
            )
            self.problems.append(Problem(doc.file, line, col, exc.message))
            return None
        before = self.event_costs.get(env.event_type, 0)
        self.event_costs[env.event_type] = before + cost
        if before <= MAX_EVENT_COST < before + cost:
            self.problems.append(
                doc.problem(
                    path,
                    f"the expressions on {env.event_type} events pass a cost of "
                    f"{MAX_EVENT_COST:,} in all here (each event runs them all): "
                    "too costly to evaluate",
                )
            )
        return compiled

    def _event_type(self, doc: YamlDoc, path: Path, name: str) -> bool:
        if name in self.event_types:
            return True
        if self.event_types:
            hint = did_you_mean(name, self.event_types)
            self.problems.append(doc.problem(path, f"unknown event type '{name}'{hint}"))
        return False

    def _badge(self, doc: YamlDoc, path: Path, badge: str | None) -> None:
        if badge is not None and badge not in self.badges and self.event_types:
            hint = did_you_mean(badge, self.badges)
            self.problems.append(doc.problem(path, f"undeclared badge '{badge}'{hint}"))

    def _condition(
        self, doc: YamlDoc, path: Path, event_type: str, when: str | bool
    ) -> CompiledExpr | None:
        if when is False:
            self.problems.append(doc.problem(path, "'when: false' never holds; remove it"))
        if not isinstance(when, str) or event_type not in self.envs:
            return None
        return self.compile_expr(doc, path, self.envs[event_type], when, ("BOOL",))

    # -- program.yaml -------------------------------------------------------------------------

    def load_tiers(self, doc: YamlDoc, tiers: TiersDef | None) -> TierProgram | None:
        """Check the tier ladder and compile it to the core's program."""
        if tiers is None:
            return None
        before = len(self.problems)
        if not tiers.levels:
            self.problems.append(doc.problem(("tiers", "levels"), "tiers need at least one level"))
        seen: set[str] = set()
        for i, level in enumerate(tiers.levels):
            if level.id in seen:
                self.problems.append(
                    doc.problem(("tiers", "levels", i, "id"), f"duplicate tier '{level.id}'")
                )
            seen.add(level.id)
            if i and level.threshold <= tiers.levels[i - 1].threshold:
                self.problems.append(
                    doc.problem(
                        ("tiers", "levels", i, "threshold"),
                        "thresholds must rise from one level to the next",
                    )
                )
            if level.multiplier < 0:
                self.problems.append(
                    doc.problem(("tiers", "levels", i, "multiplier"), "multiplier must be >= 0")
                )
        if tiers.metric == "count":
            if tiers.event is None:
                self.problems.append(
                    doc.problem(("tiers", "metric"), "metric 'count' needs 'event: <type>'")
                )
            else:
                self._event_type(doc, ("tiers", "event"), tiers.event)
        rolling = None if isinstance(tiers.window, str) else tiers.window.rolling_days
        if rolling is not None and rolling <= 0:
            self.problems.append(doc.problem(("tiers", "window"), "rolling_days must be positive"))
        if tiers.grace_days < 0:
            self.problems.append(doc.problem(("tiers", "grace_days"), "grace_days must be >= 0"))
        if len(self.problems) > before:
            return None
        return TierProgram(
            metric=tiers.metric,
            levels=tuple(
                TierLevel(lv.id, lv.name or lv.id, lv.threshold, lv.multiplier, tuple(lv.benefits))
                for lv in tiers.levels
            ),
            timezone=self.tz,
            event=tiers.event,
            rolling_days=rolling,
            grace_days=tiers.grace_days,
        )

    def check_badge_levels(self, doc: YamlDoc, index: int, badge: BadgeDef) -> None:
        """A levelled badge needs rising positive thresholds and a counter that exists."""
        path: Path = ("badges", index)
        if badge.levels is None:
            if badge.counter is not None:
                self.problems.append(
                    doc.problem((*path, "counter"), "a counter needs 'levels' to count towards")
                )
            return
        thresholds = list(badge.levels.values())
        if not thresholds or thresholds != sorted(set(thresholds)) or thresholds[0] <= 0:
            self.problems.append(
                doc.problem((*path, "levels"), "level thresholds must be positive and rising")
            )
        counter = badge.counter
        if counter is None:
            self.problems.append(
                doc.problem(path, "a levelled badge needs 'counter': an event type or attributes.X")
            )
        elif counter.startswith("attributes."):
            name = counter.removeprefix("attributes.")
            spec = self.member_attributes.get(name)
            if spec is None or spec.type != "int":
                self.problems.append(
                    doc.problem((*path, "counter"), f"'{name}' is not a declared int attribute")
                )
        else:
            self._event_type(doc, (*path, "counter"), counter)

    # -- rule files ---------------------------------------------------------------------------

    def load_progress_sections(
        self, doc: YamlDoc, challenges: list[Any], streaks: list[Any], referral: Any
    ) -> None:
        """Decode and load a rule file's `challenges:`, `streaks:` and `referral:` sections."""
        for i, item in enumerate(challenges):
            challenge, problems = decode(doc, item, ("challenges", i), ChallengeDef)
            self.problems.extend(problems)
            if challenge is not None:
                self.load_challenge(doc, ("challenges", i), challenge)
        for i, item in enumerate(streaks):
            streak, problems = decode(doc, item, ("streaks", i), StreakDef)
            self.problems.extend(problems)
            if streak is not None:
                self.load_streak(doc, ("streaks", i), streak)
        if referral is not None:
            policy, problems = decode(doc, referral, ("referral",), ReferralDef)
            self.problems.extend(problems)
            self.load_referral(doc, policy)

    def load_challenge(self, doc: YamlDoc, path: Path, challenge: ChallengeDef) -> None:
        """Check and compile one challenge."""
        before = len(self.problems)
        if (challenge.every is None) == (challenge.start is None and challenge.end is None):
            self.problems.append(
                doc.problem(path, "a challenge needs either 'every' or 'start'/'end'")
            )
        if not challenge.steps:
            self.problems.append(doc.problem((*path, "steps"), "a challenge needs a step"))
        steps = [
            self._step(doc, (*path, "steps", i), step) for i, step in enumerate(challenge.steps)
        ]
        self._badge(doc, (*path, "reward", "badge"), challenge.reward.badge)
        if challenge.reward.points < 0 or (
            not challenge.reward.points and challenge.reward.badge is None
        ):
            self.problems.append(
                doc.problem((*path, "reward"), "a reward needs positive points or a badge")
            )
        if any(c.id == challenge.id for c in self.challenges):
            self.problems.append(
                doc.problem((*path, "id"), f"duplicate challenge id '{challenge.id}'")
            )
        self.problems.extend(challenge_numbers(doc, path, challenge))
        start, end = (self._aware(t) for t in (challenge.start, challenge.end))
        if start is not None and end is not None and end <= start:
            self.problems.append(doc.problem((*path, "end"), "end must be after start"))
        if len(self.problems) > before:
            return
        self.challenges.append(
            CompiledChallenge(
                id=challenge.id,
                name=challenge.name,
                description=challenge.description,
                steps=tuple(s for s in steps if s is not None),
                reward_points=challenge.reward.points,
                reward_badge=challenge.reward.badge,
                every=challenge.every,
                start=start,
                end=end,
            )
        )

    def _aware(self, at: Any) -> Any:
        from zoneinfo import ZoneInfo

        return at if at is None or at.tzinfo else at.replace(tzinfo=ZoneInfo(self.tz))

    def _step(self, doc: YamlDoc, path: Path, step: Any) -> CompiledStep | None:
        if not self._event_type(doc, (*path, "on"), step.on):
            return None
        when = self._condition(doc, (*path, "when"), step.on, step.when)
        if (step.count is None) == (step.sum is None):
            self.problems.append(doc.problem(path, "a step needs exactly one of count or sum"))
            return None
        if step.count is not None:
            if step.count <= 0 or step.target is not None:
                self.problems.append(
                    doc.problem((*path, "count"), "count is the target: a positive int, no target")
                )
                return None
            return CompiledStep(step.on, step.count, step.name or f"{step.count} x {step.on}", when)
        if step.target is None or step.target <= 0:
            self.problems.append(doc.problem(path, "a sum step needs a positive 'target'"))
            return None
        amount = self.compile_expr(
            doc, (*path, "sum"), self.envs[step.on], step.sum, ("INT", "DOUBLE")
        )
        name = step.name or f"{step.target} of {step.sum} on {step.on}"
        return CompiledStep(step.on, step.target, name, when, amount) if amount else None

    def load_streak(self, doc: YamlDoc, path: Path, streak: StreakDef) -> None:
        """Check and compile one streak."""
        before = len(self.problems)
        when: dict[str, CompiledExpr] = {}
        if not streak.on:
            self.problems.append(doc.problem((*path, "on"), "a streak needs an event type"))
        for i, event_type in enumerate(streak.on):
            if self._event_type(doc, (*path, "on", i), event_type):
                expr = self._condition(doc, (*path, "when"), event_type, streak.when)
                if expr is not None:
                    when[event_type] = expr
        self.problems.extend(streak_numbers(doc, path, streak))
        lengths = [m.length for m in streak.milestones]
        if lengths != sorted(set(lengths)) or any(n <= 0 for n in lengths):
            self.problems.append(
                doc.problem((*path, "milestones"), "milestone lengths must be positive and rising")
            )
        for i, milestone in enumerate(streak.milestones):
            self._badge(doc, (*path, "milestones", i, "badge"), milestone.badge)
        if any(s.id == streak.id for s in self.streaks):
            self.problems.append(doc.problem((*path, "id"), f"duplicate streak id '{streak.id}'"))
        if len(self.problems) > before:
            return
        self.streaks.append(
            CompiledStreak(
                id=streak.id,
                name=streak.name,
                on=tuple(streak.on),
                unit=streak.unit,
                freezes_per_month=streak.freezes_per_month,
                milestones=tuple(streak.milestones),
                when=when,
            )
        )

    def load_referral(self, doc: YamlDoc, referral: ReferralDef | None) -> None:
        """Check and compile the referral policy (at most one in all files)."""
        if referral is None:
            return
        if self.referral is not None:
            self.problems.append(doc.problem(("referral",), "a second 'referral:' section"))
            return
        before = len(self.problems)
        if referral.referrer_points < 0 or referral.referee_points < 0:
            self.problems.append(doc.problem(("referral",), "referral points must be >= 0"))
        self.problems.extend(referral_numbers(doc, referral))
        if referral.max_per_referrer is not None and referral.max_per_referrer <= 0:
            self.problems.append(
                doc.problem(("referral", "max_per_referrer"), "max_per_referrer must be positive")
            )
        qualifying = self._condition(
            doc, ("referral", "qualifying_purchase"), "purchase", referral.qualifying_purchase
        )
        if len(self.problems) > before:
            return
        self.referral = CompiledReferral(
            referral.referrer_points,
            referral.referee_points,
            qualifying,
            referral.max_per_referrer,
        )
