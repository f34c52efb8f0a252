"""What a backtest reports for one side (the booked rules, or the draft): points per rule and
their cost, tiers at the end and tier moves, badges, challenges, streak milestones, caps and
budgets reached, rules that never fired or failed. Pure: fed each operation's outcome and
rows as the replay decides them, then the final state of each page's members."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import msgspec

from service.decide import EventResult
from service.decide.rows import Rows
from service.engine import BadgeEffect, PointsEffect, Ruleset, StreakEffect
from service.engine.ruleset import CompiledCap
from service.errors import DomainError
from service.replay.memory import MemberTables

__all__ = ["LaneReport", "LaneTally", "RulePoints", "TallyPart"]


class RulePoints(msgspec.Struct, kw_only=True):
    """A rule's points in the period: earned, taken back by refunds, and how often it fired."""

    earned: int = 0
    reversed: int = 0
    fired: int = 0
    members: int = 0


class LaneReport(msgspec.Struct, kw_only=True):
    """One side of the backtest, over the period."""

    label: str
    versions: list[str]
    events: int = 0
    events_refused: int = 0
    """Events this side refuses (a draft that no longer declares their type or attributes)."""
    redemptions_refused: int = 0
    points_earned: int = 0
    points_reversed: int = 0
    points_net: int = 0
    cost: str | None = None
    """`points_net` times the program's point value, in its currency (None: no value set)."""
    rules: dict[str, RulePoints] = {}
    tiers_at_end: dict[str, int] = {}
    """Members per tier when the period ends (`-` for no tier), of the members backtested."""
    tier_moves: dict[str, int] = {}
    """`from -> to` and how often."""
    badges: dict[str, int] = {}
    """Badge (and level) granted, and to how many members."""
    challenges_completed: dict[str, int] = {}
    streak_milestones: dict[str, int] = {}
    caps_reached: dict[str, int] = {}
    """Rule and its cap period (`rule:period`): members who reached it."""
    budgets_reached: list[str] = []
    never_fired: list[str] = []
    failed_rules: dict[str, int] = {}
    """Rules that failed at run time, and on how many events."""


class TallyPart(msgspec.Struct, kw_only=True):
    """What a tally counted over some whole pages, to be added to another's (`merge`)."""

    report: LaneReport
    versions: list[str]
    matched: list[str]
    rule_members: dict[str, int]


_SUMMED = (
    "events",
    "events_refused",
    "redemptions_refused",
    "points_earned",
    "points_reversed",
)
_COUNTED = (
    "tiers_at_end",
    "tier_moves",
    "badges",
    "challenges_completed",
    "streak_milestones",
    "caps_reached",
    "failed_rules",
)


class LaneTally:
    """Counts one side's outcomes as the replay feeds them."""

    def __init__(self, label: str) -> None:
        self.report = LaneReport(label=label, versions=[])
        self._versions: set[str] = set()
        self._rulesets: dict[str, Ruleset] = {}
        # Kept for the page being counted, folded into counts at its end: a member is on one
        # page only, so nothing per member outlives its page.
        self._rule_members: dict[str, set[str]] = {}
        self._capped: set[tuple[str, str, str, str]] = set()
        self._rule_member_count: Counter[str] = Counter()
        self._matched: set[str] = set()
        """Rules that fired or matched without points, on any page."""
        self.member_points: Counter[str] = Counter()
        self.event_points: dict[tuple[str, str], int] = {}

    def _version(self, ruleset: Ruleset) -> None:
        if ruleset.version not in self._versions:
            self._versions.add(ruleset.version)
            self._rulesets[ruleset.version] = ruleset

    def count(self, ruleset: Ruleset, outcome: object, rows: Rows, is_event: bool) -> None:
        """One operation decided in the period."""
        r = self.report
        self._version(ruleset)
        if is_event:
            r.events += 1
            if isinstance(outcome, DomainError):
                r.events_refused += 1
        elif isinstance(outcome, DomainError):
            r.redemptions_refused += 1
        if isinstance(outcome, EventResult):
            self._event(outcome)
        self._entries(rows)
        self._rows(ruleset, rows)

    def count_booked(self, ruleset: Ruleset, result: EventResult | None) -> None:
        """One operation of the period as it was booked: an event's stored answer (None: not
        an event), counted as `count` counts the rows its decision wrote (the tier moves it
        answered, a row per badge granted, a row per badge level); the points and the cap
        usage of the page's period come once, to `count_rows`."""
        self._version(ruleset)
        if result is None:
            return
        self.report.events += 1
        self._event(result)
        for move in result.tier_moves:
            self._tier_move(move.from_tier, move.to_tier)
        granted = [e for e in result.effects if isinstance(e, BadgeEffect)]
        for badge_id in dict.fromkeys(e.badge for e in granted):
            self._badge(badge_id)
        for e in granted:
            if e.level:
                self._badge(e.badge, e.level_name or str(e.level))

    def count_rows(self, ruleset: Ruleset, rows: Rows) -> None:
        """Points earned and reversed, and caps reached, of stored rows of the period
        (`ruleset`: the version that booked them)."""
        self._entries(rows)
        self._rows(ruleset, rows)

    def _entries(self, rows: Rows) -> None:
        """Points earned (by rule) and taken back by refunds (by the rule of the lot)."""
        r = self.report
        lot_rules = {(lot.member_id, lot.lot_id): lot.rule_id for lot in rows.lots}
        for entry in rows.entries:
            if entry.kind == "earn" and entry.rule_id is not None:
                rule = r.rules.setdefault(entry.rule_id, RulePoints())
                rule.earned += entry.points
                r.points_earned += entry.points
            elif entry.kind == "reverse" and entry.lot_id is not None:
                lot_rule = lot_rules.get((entry.member_id, entry.lot_id))
                rule_id = entry.rule_id or lot_rule or "(no rule)"
                rule = r.rules.setdefault(rule_id, RulePoints())
                rule.reversed -= entry.points
                r.points_reversed -= entry.points
            else:
                continue
            self.member_points[entry.member_id] += entry.points

    def _rows(self, ruleset: Ruleset, rows: Rows) -> None:
        caps = {rule.id: rule.caps for rule in ruleset.rules if rule.caps}
        for u in rows.usage:
            for cap in caps.get(u.rule_id, ()):
                if cap.period == _period_of(u.period_key) and _at_cap(cap, u.times, u.points):
                    self._capped.add((u.member_id, u.rule_id, u.period_key, cap.period))
        for move in rows.tier_moves:
            self._tier_move(move.from_tier, move.to_tier)
        for badge in rows.badges:
            self._badge(badge.badge_id)
        for level in rows.badge_levels:
            self._badge(level.badge_id, level.level_name)

    def _tier_move(self, from_tier: str | None, to_tier: str | None) -> None:
        key = f"{from_tier or '-'} -> {to_tier or '-'}"
        self.report.tier_moves[key] = self.report.tier_moves.get(key, 0) + 1

    def _badge(self, badge_id: str, level: str | None = None) -> None:
        """A badge granted, or (with `level`) a badge level reached."""
        key = badge_id if level is None else f"{badge_id} ({level})"
        self.report.badges[key] = self.report.badges.get(key, 0) + 1

    def _event(self, result: EventResult) -> None:
        r = self.report
        self.event_points[(result.member_id, result.event_id)] = result.points
        for effect in result.effects:
            rule_id = getattr(effect, "rule_id", None)
            if isinstance(effect, PointsEffect) and rule_id is not None:
                rule = r.rules.setdefault(rule_id, RulePoints())
                rule.fired += 1
                self._rule_members.setdefault(rule_id, set()).add(result.member_id)
            elif rule_id is not None:
                self._rule_members.setdefault(rule_id, set())
        runs = {e.streak: e.current for e in result.effects if isinstance(e, StreakEffect)}
        for effect in result.effects:  # a streak's milestone pays under `streak:<id>`
            if isinstance(effect, PointsEffect) and effect.rule_id.startswith("streak:"):
                streak = effect.rule_id.removeprefix("streak:")
                key = f"{streak}: {runs.get(streak, '?')} in a row"
                r.streak_milestones[key] = r.streak_milestones.get(key, 0) + 1
        for step in result.challenges:
            if step.completed:
                r.challenges_completed[step.challenge] = (
                    r.challenges_completed.get(step.challenge, 0) + 1
                )
        for failure in result.failed_rules:
            r.failed_rules[failure.rule_id] = r.failed_rules.get(failure.rule_id, 0) + 1

    def end_of_page(self, members: dict[str, MemberTables]) -> None:
        """The page's members as the period ends: their tiers; and what was kept per member
        while the page was counted, folded into counts."""
        r = self.report
        for tables in members.values():
            tier = (tables.tier.tier if tables.tier is not None else None) or "-"
            r.tiers_at_end[tier] = r.tiers_at_end.get(tier, 0) + 1
        for rule_id, rule_members in self._rule_members.items():
            self._matched.add(rule_id)
            self._rule_member_count[rule_id] += len(rule_members)
        for _, rule_id, _, period in self._capped:
            key = f"{rule_id}:{period}"
            r.caps_reached[key] = r.caps_reached.get(key, 0) + 1
        self._rule_members.clear()
        self._capped.clear()

    def part(self) -> TallyPart:
        """What this tally counted, between pages (a page's own is kept until its end)."""
        assert not self._rule_members and not self._capped, "a page was not ended"
        return TallyPart(
            report=self.report,
            versions=sorted(self._versions),
            matched=sorted(self._matched),
            rule_members=dict(self._rule_member_count),
        )

    def merge(self, part: TallyPart, ruleset_of: Callable[[str], Ruleset]) -> None:
        """Add what another tally counted over whole pages (`ruleset_of`: the ruleset of each
        of its versions), as if this one had counted those pages next."""
        r, other = self.report, part.report
        for name in _SUMMED:
            setattr(r, name, getattr(r, name) + getattr(other, name))
        for name in _COUNTED:
            mine: dict[str, int] = getattr(r, name)
            for key, n in getattr(other, name).items():
                mine[key] = mine.get(key, 0) + n
        for rule_id, points in other.rules.items():
            rule = r.rules.setdefault(rule_id, RulePoints())
            rule.earned += points.earned
            rule.reversed += points.reversed
            rule.fired += points.fired
        for version in part.versions:
            self._version(ruleset_of(version))
        self._matched.update(part.matched)
        self._rule_member_count.update(part.rule_members)

    def finish(self, budgets: dict[str, int], point_value: float | None) -> LaneReport:
        """The report, once every page is counted (`budgets`: points each budget gave)."""
        r = self.report
        r.versions = sorted(self._versions)
        r.points_net = r.points_earned - r.points_reversed
        if point_value is not None:
            r.cost = str(
                (Decimal(r.points_net) * Decimal(str(point_value))).quantize(Decimal("0.01"))
            )
        assert not self._rule_members and not self._capped, "a page was not ended"
        fired = {rule_id for rule_id, p in r.rules.items() if p.fired} | self._matched
        for rule_id, count in self._rule_member_count.items():
            if rule_id in r.rules:
                r.rules[rule_id].members = count
        names: set[str] = set()
        for ruleset in self._rulesets.values():
            names.update(rule.id for rule in ruleset.rules)
            for rule in ruleset.rules:
                if rule.budget is not None and budgets.get(rule.id, 0) >= rule.budget:
                    r.budgets_reached.append(rule.id)
        r.never_fired = sorted(names - fired)
        r.caps_reached = dict(sorted(r.caps_reached.items()))
        r.budgets_reached = sorted(set(r.budgets_reached))
        r.rules = dict(sorted(r.rules.items()))
        return r


def _at_cap(cap: CompiledCap, times: int, points: int) -> bool:
    return (cap.max_times is not None and times >= cap.max_times) or (
        cap.max_points is not None and points >= cap.max_points
    )


def _period_of(period_key: str) -> str:
    """The kind of period a cap period key names (`2026-03-02`, `2026-W10`, `2026-03`...)."""
    if period_key == "lifetime":
        return "lifetime"
    if "-W" in period_key:
        return "week"
    return {10: "day", 7: "month", 4: "year"}.get(len(period_key), "")
