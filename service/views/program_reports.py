"""The program's reports, for finance and program managers (and the dashboard): liability,
breakage, points per rule and reward, tiers, engagement levels, active members, signup cohorts,
purchases, top members and experiments. Each reads the daily rollups the saves maintain
(`program_rollups`, a few thousand rows for a year), never the ledger; days are local days of
the program's time zone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from service.decide.rollups import month_of
from service.engine import Ruleset
from service.errors import InvalidInput
from service.runtime import Runtime
from service.store import program_rollups as store
from service.store.program_rollups import Figure

__all__ = [
    "MAX_DAYS",
    "ActiveMembers",
    "Breakage",
    "Cohorts",
    "EngagementLevels",
    "ExperimentSummaries",
    "Liability",
    "PointsReport",
    "Purchases",
    "TierReport",
    "TopMembers",
    "active_members",
    "breakage",
    "cohorts",
    "engagement_levels",
    "experiment_summaries",
    "liability",
    "points",
    "purchases",
    "tiers",
    "top_members",
]

MAX_DAYS = 731
"""The longest window a report covers (two years of days)."""

_EPOCH = date(1970, 1, 1)
_END = date(9999, 12, 31)


class Window(msgspec.Struct, frozen=True):
    """The local days a report covers (both included)."""

    since: date
    until: date


def _today(ruleset: Ruleset, now: datetime) -> date:
    return now.astimezone(ZoneInfo(ruleset.program.timezone)).date()


def _window(ruleset: Ruleset, now: datetime, since: date | None, until: date | None) -> Window:
    """The window asked for: by default the 90 days up to today; refused when inverted or
    longer than MAX_DAYS."""
    end = until or _today(ruleset, now)
    start = since or end - timedelta(days=89)
    if start > end:
        raise InvalidInput("since is after until", field="since")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"the window is longer than {MAX_DAYS} days", field="since")
    return Window(start, end)


def _int(value: Decimal) -> int:
    return int(value)


def _by(figures: Iterable[Figure], metric: str) -> dict[date, Decimal]:
    out: dict[date, Decimal] = defaultdict(Decimal)
    for f in figures:
        if f.metric == metric:
            out[f.day] += f.value
    return out


def _days(window: Window) -> list[date]:
    return [window.since + timedelta(days=n) for n in range((window.until - window.since).days + 1)]


def _value(points: int, point_value: float | None) -> Decimal | None:
    if point_value is None:
        return None
    return (Decimal(points) * Decimal(str(point_value))).quantize(Decimal("0.01"))


# -- liability ----------------------------------------------------------------------------------


class MonthPoints(msgspec.Struct, frozen=True, kw_only=True):
    month: date
    points: int
    value: Decimal | None
    """In the program's currency (null when `program.yaml` declares no point value)."""


class DayPoints(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    points: int


class Liability(msgspec.Struct, frozen=True, kw_only=True):
    """Points the program owes its members now, and when the open lots' points expire."""

    as_of: datetime
    currency: str
    point_value: float | None
    available: int
    pending: int
    held: int
    """Reserved by checkout holds (spent or released when the hold settles)."""
    debt: int
    """Points members owe (refunds after spending, where the program allows it)."""
    outstanding: int
    """available + pending + held."""
    outstanding_value: Decimal | None
    expiring: list[MonthPoints]
    """Points of open lots by the local month they expire in (months past: not yet expired
    by the worker)."""
    without_expiry: int
    """Outstanding points that no expiry date covers (held points, lots that never expire)."""
    history: list[DayPoints]
    """Outstanding points at the end of each of the last 90 days."""


_BALANCES = ["available", "pending", "held", "debt"]


async def liability(runtime: Runtime) -> Liability:
    """The liability now, by expiry month, and over the last 90 days."""
    ruleset, now = runtime.rules.current, runtime.clock.now()
    today = _today(ruleset, now)
    start = today - timedelta(days=89)
    async with runtime.db.connection() as conn:
        totals = await store.totals(conn, _BALANCES, start - timedelta(days=1))
        recent = await store.figures(conn, _BALANCES, start, _END)
        expiring = await store.figures(conn, ["expiring"], _EPOCH, _END)
    balance = {b: 0 for b in _BALANCES}
    for t in totals:
        balance[t.metric] += _int(t.value)
    outstanding = balance["available"] + balance["pending"] + balance["held"]
    daily: dict[date, int] = defaultdict(int)
    for f in recent:
        daily[f.day] += _int(f.value) if f.metric != "debt" else 0
        balance[f.metric] += _int(f.value)
    history, running = [], outstanding
    for day in _days(Window(start, today)):
        running += daily.get(day, 0)
        history.append(DayPoints(day=day, points=running))
    outstanding = balance["available"] + balance["pending"] + balance["held"]
    value = ruleset.program.points.value
    months = [
        MonthPoints(month=f.day, points=_int(f.value), value=_value(_int(f.value), value))
        for f in expiring
    ]
    return Liability(
        as_of=now,
        currency=ruleset.program.currency,
        point_value=value,
        **balance,
        outstanding=outstanding,
        outstanding_value=_value(outstanding, value),
        expiring=months,
        without_expiry=outstanding - sum(m.points for m in months),
        history=history,
    )


# -- breakage -----------------------------------------------------------------------------------


class BreakageMonth(msgspec.Struct, frozen=True, kw_only=True):
    month: date
    earned: int
    expired: int
    rate: float | None
    """expired / earned in the month (null when nothing was earned)."""


class Breakage(msgspec.Struct, frozen=True, kw_only=True):
    """Points expired over points earned, per month, and what the open lots' expiry dates
    schedule for the months ahead (an upper bound: members may still spend them)."""

    months: list[BreakageMonth]
    rate: float | None
    """Over the program's whole history: every point expired over every point earned (a
    window's ratio would set its expiries against earlier months' earnings)."""
    forecast: list[MonthPoints]


async def breakage(runtime: Runtime, months: int = 12) -> Breakage:
    """The last `months` months (this one included) and the `months` ahead."""
    ruleset, now = runtime.rules.current, runtime.clock.now()
    this_month = month_of(_today(ruleset, now))
    first = _months_back(this_month, months - 1)
    async with runtime.db.connection() as conn:
        figures = await store.figures(conn, ["earned", "expired"], first, _END)
        ahead = await store.figures(conn, ["expiring"], this_month, _END)
        ever: dict[str, int] = defaultdict(int)
        for t in await store.totals(conn, ["earned", "expired"], _END):
            ever[t.metric] += _int(t.value)
    earned: dict[date, int] = defaultdict(int)
    expired: dict[date, int] = defaultdict(int)
    for f in figures:
        (earned if f.metric == "earned" else expired)[month_of(f.day)] += _int(f.value)
    rows = []
    for n in range(months):
        month = _months_back(this_month, months - 1 - n)
        rows.append(
            BreakageMonth(
                month=month,
                earned=earned[month],
                expired=expired[month],
                rate=_ratio(expired[month], earned[month]),
            )
        )
    last = _months_back(this_month, -months)
    value = ruleset.program.points.value
    forecast = [
        MonthPoints(month=f.day, points=_int(f.value), value=_value(_int(f.value), value))
        for f in ahead
        if f.day < last
    ]
    return Breakage(
        months=rows,
        rate=_ratio(ever["expired"], ever["earned"]),
        forecast=forecast,
    )


def _months_back(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# -- points per day, rule and reward ------------------------------------------------------------


class PointsDay(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    earned: int
    spent: int
    expired: int
    reversed: int
    adjusted: int
    redemptions: int


class RuleEarnings(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: str
    """Empty for points no rule gave (a referral's, a review bonus of the program)."""
    points: int


class RewardSpending(msgspec.Struct, frozen=True, kw_only=True):
    reward_id: str
    """Empty for points spent at checkout (no catalog reward)."""
    points: int
    redemptions: int


class PointsReport(msgspec.Struct, frozen=True, kw_only=True):
    """Points earned, spent, expired, reversed (refunds) and adjusted per day, and over the
    window per rule and per reward (most first)."""

    since: date
    until: date
    days: list[PointsDay]
    by_rule: list[RuleEarnings]
    by_reward: list[RewardSpending]


_POINTS = ["earned", "spent", "expired", "reversed", "adjusted", "redemptions"]


async def points(
    runtime: Runtime, since: date | None = None, until: date | None = None
) -> PointsReport:
    """Points per day of the window, and per rule and reward over it."""
    window = _window(runtime.rules.current, runtime.clock.now(), since, until)
    async with runtime.db.connection() as conn:
        figures = await store.figures(conn, _POINTS, window.since, window.until)
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_POINTS, 0))
    rules: dict[str, int] = defaultdict(int)
    rewards: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in figures:
        per_day[f.day][f.metric] += _int(f.value)
        if f.metric == "earned":
            rules[f.key] += _int(f.value)
        elif f.metric == "spent":
            rewards[f.key][0] += _int(f.value)
        elif f.metric == "redemptions":
            rewards[f.key][1] += _int(f.value)
    return PointsReport(
        since=window.since,
        until=window.until,
        days=[PointsDay(day=d, **per_day[d]) for d in _days(window)],
        by_rule=sorted(
            (RuleEarnings(rule_id=r, points=p) for r, p in rules.items()),
            key=lambda r: (-r.points, r.rule_id),
        ),
        by_reward=sorted(
            (RewardSpending(reward_id=r, points=p, redemptions=n) for r, (p, n) in rewards.items()),
            key=lambda r: (-r.points, r.reward_id),
        ),
    )


# -- tiers and engagement levels ----------------------------------------------------------------


class MemberCount(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    members: int


class MovesInMonth(msgspec.Struct, frozen=True, kw_only=True):
    month: date
    source: str | None
    """The tier (level) left; null: none."""
    target: str | None
    members: int


class TierReport(msgspec.Struct, frozen=True, kw_only=True):
    """Members per tier now (in the ladder's order) and the moves per month."""

    distribution: list[MemberCount]
    moves: list[MovesInMonth]


async def tiers(runtime: Runtime, months: int = 12) -> TierReport:
    """The tier distribution now, and the tier moves of the last `months` months."""
    ruleset = runtime.rules.current
    ladder = [t.id for t in ruleset.program.tiers.levels] if ruleset.program.tiers else []
    distribution, moves = await _members_and_moves(runtime, "tier", ladder, months)
    return TierReport(distribution=distribution, moves=moves)


async def _members_and_moves(
    runtime: Runtime, what: str, names: list[str], months: int
) -> tuple[list[MemberCount], list[MovesInMonth]]:
    ruleset, now = runtime.rules.current, runtime.clock.now()
    first = _months_back(month_of(_today(ruleset, now)), months - 1)
    async with runtime.db.connection() as conn:
        totals = await store.totals(conn, [f"{what}_members"], _END)
        moved = await store.figures(conn, [f"{what}_moves"], first, _END)
    counts = {t.key: _int(t.value) for t in totals}
    ordered = names + sorted(set(counts) - set(names))
    per_month: dict[tuple[date, str], int] = defaultdict(int)
    for f in moved:
        per_month[(month_of(f.day), f.key)] += _int(f.value)
    moves = []
    for (month, key), n in sorted(per_month.items()):
        source, _, target = key.partition(">")
        moves.append(
            MovesInMonth(month=month, source=source or None, target=target or None, members=n)
        )
    return [MemberCount(name=n, members=counts.get(n, 0)) for n in ordered], moves


class LevelDay(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    levels: dict[str, int]


class EngagementLevels(msgspec.Struct, frozen=True, kw_only=True):
    """Members per engagement level at the end of each day of the window, now, and the level
    moves per month. Members whose level was never decided (no event since the score began)
    are in no level."""

    levels: list[str]
    """The program's levels, lowest first."""
    days: list[LevelDay]
    now: list[MemberCount]
    moves: list[MovesInMonth]


async def engagement_levels(
    runtime: Runtime, since: date | None = None, until: date | None = None
) -> EngagementLevels:
    """The level distribution per day of the window (by default the last 90 days)."""
    ruleset = runtime.rules.current
    window = _window(ruleset, runtime.clock.now(), since, until)
    names = [level.id for level in ruleset.program.engagement.levels]
    async with runtime.db.connection() as conn:
        before = await store.totals(conn, ["engagement_members"], window.since - timedelta(days=1))
        figures = await store.figures(conn, ["engagement_members"], window.since, window.until)
    running: dict[str, int] = {n: 0 for n in names}
    for t in before:
        running[t.key] = running.get(t.key, 0) + _int(t.value)
    changes: dict[date, list[Figure]] = defaultdict(list)
    for f in figures:
        changes[f.day].append(f)
    days = []
    for day in _days(window):
        for f in changes.get(day, []):
            running[f.key] = running.get(f.key, 0) + _int(f.value)
        days.append(LevelDay(day=day, levels=dict(running)))
    now_counts, moves = await _members_and_moves(runtime, "engagement", names, 12)
    return EngagementLevels(levels=names, days=days, now=now_counts, moves=moves)


# -- active members, cohorts, purchases ---------------------------------------------------------


class ActivePeriod(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    """The day, the week's Monday or the month's first day."""
    members: int


class ActiveMembers(msgspec.Struct, frozen=True, kw_only=True):
    """Members with at least one accepted event per day (DAU), ISO week (WAU) and month (MAU)
    of the window; `stickiness` is the last day's DAU over its month's MAU."""

    since: date
    until: date
    days: list[ActivePeriod]
    weeks: list[ActivePeriod]
    months: list[ActivePeriod]
    dau: int
    wau: int
    mau: int
    stickiness: float | None


async def active_members(
    runtime: Runtime, since: date | None = None, until: date | None = None
) -> ActiveMembers:
    """ActivePeriod members per day, week and month of the window (weeks and months that overlap
    it, counted whole)."""
    window = _window(runtime.rules.current, runtime.clock.now(), since, until)
    first = min(window.since - timedelta(days=window.since.weekday()), month_of(window.since))
    async with runtime.db.connection() as conn:
        figures = await store.figures(
            conn, ["active_day", "active_week", "active_month"], first, window.until
        )
    day, week, month = (_by(figures, m) for m in ("active_day", "active_week", "active_month"))
    days = [ActivePeriod(start=d, members=_int(day.get(d, Decimal(0)))) for d in _days(window)]
    weeks = _starts(week, window.since - timedelta(days=window.since.weekday()), window.until, 7)
    months = [
        ActivePeriod(start=m, members=_int(month.get(m, Decimal(0)))) for m in _month_starts(window)
    ]
    last = window.until
    dau = days[-1].members
    wau = _int(week.get(last - timedelta(days=last.weekday()), Decimal(0)))
    mau = _int(month.get(month_of(last), Decimal(0)))
    return ActiveMembers(
        since=window.since,
        until=window.until,
        days=days,
        weeks=weeks,
        months=months,
        dau=dau,
        wau=wau,
        mau=mau,
        stickiness=_ratio(dau, mau),
    )


def _starts(values: dict[date, Decimal], start: date, until: date, step: int) -> list[ActivePeriod]:
    out, at = [], start
    while at <= until:
        out.append(ActivePeriod(start=at, members=_int(values.get(at, Decimal(0)))))
        at += timedelta(days=step)
    return out


def _month_starts(window: Window) -> list[date]:
    out, at = [], month_of(window.since)
    while at <= window.until:
        out.append(at)
        at = _months_back(at, -1)
    return out


class SignupCohort(msgspec.Struct, frozen=True, kw_only=True):
    week: date
    """The cohort's week (Monday): members first seen active that week."""
    members: int
    retained: list[int]
    """Members of the cohort active in week 0 (the signup week), 1, 2, ... up to this week."""
    rates: list[float]
    """retained / members."""


class Cohorts(msgspec.Struct, frozen=True, kw_only=True):
    """Weekly signup cohorts and the share of each active in each later week."""

    cohorts: list[SignupCohort]


async def cohorts(runtime: Runtime, weeks: int = 12) -> Cohorts:
    """The last `weeks` cohorts (this week's included)."""
    ruleset, now = runtime.rules.current, runtime.clock.now()
    today = _today(ruleset, now)
    this_week = today - timedelta(days=today.weekday())
    first = this_week - timedelta(weeks=weeks - 1)
    async with runtime.db.connection() as conn:
        figures = await store.figures(conn, ["cohort_members", "cohort_active"], first, _END)
    sizes = _by(figures, "cohort_members")
    active: dict[tuple[date, date], int] = defaultdict(int)
    for f in figures:
        if f.metric == "cohort_active":
            active[(date.fromisoformat(f.key), f.day)] += _int(f.value)
    out = []
    for n in range(weeks):
        week = first + timedelta(weeks=n)
        size = _int(sizes.get(week, Decimal(0)))
        retained = [active.get((week, week + timedelta(weeks=k)), 0) for k in range(weeks - n)]
        rates = [round(r / size, 4) if size else 0.0 for r in retained]
        out.append(SignupCohort(week=week, members=size, retained=retained, rates=rates))
    return Cohorts(cohorts=out)


class PurchaseMonth(msgspec.Struct, frozen=True, kw_only=True):
    month: date
    purchases: int
    amount: Decimal
    average_value: Decimal | None
    """amount / purchases."""
    active_members: int
    purchases_per_member: float | None
    """purchases / active members of the month (a lifetime-value proxy over time)."""


class PurchaseDay(msgspec.Struct, frozen=True, kw_only=True):
    day: date
    purchases: int
    amount: Decimal


class Purchases(msgspec.Struct, frozen=True, kw_only=True):
    """Purchases (refunds not deducted), their amount and average value, per day and month,
    and purchases per active member per month."""

    since: date
    until: date
    currency: str
    days: list[PurchaseDay]
    months: list[PurchaseMonth]


async def purchases(
    runtime: Runtime, since: date | None = None, until: date | None = None
) -> Purchases:
    """Purchases per day of the window and per month overlapping it (months counted whole)."""
    ruleset = runtime.rules.current
    window = _window(ruleset, runtime.clock.now(), since, until)
    first = month_of(window.since)
    metrics = ["purchases", "purchase_amount", "active_month"]
    async with runtime.db.connection() as conn:
        figures = await store.figures(conn, metrics, first, _month_end(window.until))
    count, amount, active = (_by(figures, m) for m in metrics)
    days = [
        PurchaseDay(
            day=d, purchases=_int(count.get(d, Decimal(0))), amount=amount.get(d, Decimal(0))
        )
        for d in _days(window)
    ]
    months = []
    for m in _month_starts(window):
        n = sum(_int(v) for d, v in count.items() if month_of(d) == m)
        total = sum((v for d, v in amount.items() if month_of(d) == m), Decimal(0))
        members = _int(active.get(m, Decimal(0)))
        months.append(
            PurchaseMonth(
                month=m,
                purchases=n,
                amount=total,
                average_value=(total / n).quantize(Decimal("0.01")) if n else None,
                active_members=members,
                purchases_per_member=_ratio(n, members),
            )
        )
    return Purchases(
        since=window.since,
        until=window.until,
        currency=ruleset.program.currency,
        days=days,
        months=months,
    )


def _month_end(day: date) -> date:
    return _months_back(month_of(day), -1) - timedelta(days=1)


# -- top members and experiments ----------------------------------------------------------------


class TopMember(msgspec.Struct, frozen=True, kw_only=True):
    member_id: str
    display_name: str | None
    available: int
    pending: int
    lifetime_earned: int


class TopMembers(msgspec.Struct, frozen=True, kw_only=True):
    """The members holding the most available points (the liability's largest holders)."""

    members: list[TopMember]


async def top_members(runtime: Runtime, limit: int = 10) -> TopMembers:
    """The `limit` members with the most available points."""
    async with runtime.db.connection() as conn:
        rows = await store.top_balances(conn, limit)
    return TopMembers(members=[TopMember(**msgspec.structs.asdict(r)) for r in rows])


class ArmSummary(msgspec.Struct, frozen=True, kw_only=True):
    arm: str
    exposures: int
    """Exposures (a member is exposed once per event the experiment's rule matched)."""
    points: int
    """Points the arm's members got (in the holdout: would have got)."""


class ExperimentSummary(msgspec.Struct, frozen=True, kw_only=True):
    experiment_id: str
    arms: list[ArmSummary]


class ExperimentSummaries(msgspec.Struct, frozen=True, kw_only=True):
    """Every experiment with exposures: per arm, exposures and points (the lift report,
    `/v1/admin/experiments/{id}/report`, measures what they did)."""

    experiments: list[ExperimentSummary]


async def experiment_summaries(runtime: Runtime) -> ExperimentSummaries:
    """Exposures and points per arm of every experiment, over all time."""
    async with runtime.db.connection() as conn:
        totals = await store.totals(conn, ["exposures", "exposure_points"], _END)
    arms: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for t in totals:
        experiment_id, _, arm = t.key.rpartition("/")
        arms[experiment_id][arm][0 if t.metric == "exposures" else 1] += _int(t.value)
    return ExperimentSummaries(
        experiments=[
            ExperimentSummary(
                experiment_id=e,
                arms=[ArmSummary(arm=a, exposures=x, points=p) for a, (x, p) in sorted(by.items())],
            )
            for e, by in sorted(arms.items())
        ]
    )
