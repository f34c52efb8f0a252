"""Checks of the catalog (rewards, badges) and of a rule's schedule and caps: a mixin of the
loader, which owns the problems list and the program's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from service.engine.files import ProgramFile, RuleDef
from service.engine.problems import Problem
from service.engine.ruleset import CompiledCap
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["RuleChecks"]


class RuleChecks:
    """Catalog, schedule and cap checks."""

    problems: list[Problem]
    badges: set[str]
    tz: str

    def check_catalog(self, doc: YamlDoc, parsed: ProgramFile) -> None:
        seen: set[str] = set()
        for i, reward in enumerate(parsed.rewards):
            path: Path = ("rewards", i)
            if reward.id in seen:
                self.problems.append(
                    doc.problem((*path, "id"), f"duplicate reward id '{reward.id}'")
                )
            seen.add(reward.id)
            if reward.cost <= 0:
                self.problems.append(
                    doc.problem((*path, "cost"), "cost must be a positive number of points")
                )
            coupon = reward.coupon
            if coupon is not None and (coupon.codes is None) == (coupon.prefix is None):
                self.problems.append(
                    doc.problem(
                        (*path, "coupon"), "coupon needs exactly one of 'codes' or 'prefix'"
                    )
                )
        for i, badge in enumerate(parsed.badges):
            if badge.id in self.badges:
                self.problems.append(
                    doc.problem(("badges", i, "id"), f"duplicate badge id '{badge.id}'")
                )
            self.badges.add(badge.id)

    # -- rule files ---------------------------------------------------------------------------

    def schedule(
        self, doc: YamlDoc, path: Path, rule: RuleDef
    ) -> tuple[datetime | None, datetime | None]:
        if rule.schedule is None:
            return None, None
        zone = ZoneInfo(self.tz)
        start, end = (
            t if t is None or t.tzinfo else t.replace(tzinfo=zone)
            for t in (rule.schedule.start, rule.schedule.end)
        )
        if start is not None and end is not None and end <= start:
            self.problems.append(
                doc.problem((*path, "schedule", "end"), "schedule end must be after its start")
            )
        return start, end

    def caps(self, doc: YamlDoc, path: Path, rule: RuleDef) -> tuple[CompiledCap, ...]:
        if rule.caps is None:
            return ()
        out: list[CompiledCap] = []
        periods: set[str] = set()
        for i, cap in enumerate(rule.caps.per_member):
            where: Path = (*path, "caps", "per_member", i)
            if cap.max_times is None and cap.max_points is None:
                self.problems.append(doc.problem(where, "a cap needs max_times or max_points"))
            if any(v is not None and v <= 0 for v in (cap.max_times, cap.max_points)):
                self.problems.append(doc.problem(where, "cap limits must be positive"))
            if cap.period in periods:
                self.problems.append(
                    doc.problem(where, f"two caps for period '{cap.period}'; merge them")
                )
            periods.add(cap.period)
            out.append(CompiledCap(cap.period, cap.max_times, cap.max_points))
        if rule.caps.budget is not None and rule.caps.budget <= 0:
            self.problems.append(doc.problem((*path, "caps", "budget"), "budget must be positive"))
        return tuple(out)
