"""Experiments for admins: which exist and how they split, a member's arm, and the lift
report: per arm, over a window after each member's first exposure, purchases and amount per
member, events per member, 30-day retention and points cost, each arm against the holdout
with a 95% confidence interval (Welch's t) and a plain sentence."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec

from service.core.experiments import HOLDOUT, arm_of
from service.core.stats import welch
from service.engine import Ruleset
from service.errors import InvalidInput, NotFound
from service.runtime import Runtime
from service.store import experiments as experiment_store
from service.store.database import Database

__all__ = [
    "ExperimentReport",
    "MemberArm",
    "build_report",
    "member_arm",
    "report",
    "report_on",
]

WindowDays = Annotated[int, msgspec.Meta(ge=31, le=365)]
DEFAULT_WINDOW = 60
RETENTION_DAY = 30


class MemberArm(msgspec.Struct, kw_only=True):
    """A member's arm in an experiment (admins only): the arm their ids give, and when they
    were first exposed (None: not yet)."""

    experiment_id: str
    member_id: str
    arm: str
    exposed_at: datetime | None


async def member_arm(runtime: Runtime, experiment_id: str, member_id: str) -> MemberArm:
    """The member's arm; NotFound for an experiment the active rules do not declare."""
    experiment = runtime.rules.current.experiments.get(experiment_id)
    if experiment is None:
        raise NotFound(
            f"no experiment '{experiment_id}' in the active rules", field="experiment_id"
        )
    async with runtime.db.connection() as conn:
        row = await experiment_store.arm_of_member(conn, member_id, experiment_id)
    return MemberArm(
        experiment_id=experiment_id,
        member_id=member_id,
        arm=row.arm if row is not None else arm_of(experiment, member_id),
        exposed_at=row.at if row is not None else None,
    )


class Lift(msgspec.Struct, kw_only=True):
    """An arm's mean less the holdout's, with its 95% confidence interval (Welch's t)."""

    difference: float
    low: float
    high: float
    significant: bool
    """True when the interval excludes zero."""


class Measure(msgspec.Struct, kw_only=True):
    """One measure of an arm: its mean per member, and (for a variant) the lift."""

    mean: float
    lift: Lift | None = None


class ArmReport(msgspec.Struct, kw_only=True):
    """One arm: members exposed and measured (their window has passed), and per measure."""

    arm: str
    share_percent: float
    members_exposed: int
    members_measured: int
    purchases_per_member: Measure
    amount_per_member: Measure
    events_per_member: Measure
    retention_30_days: Measure
    """Share (0..1) of members with an event on day 30 or later of the window."""
    points_cost_per_member: Measure
    points_cost: int


class ExperimentReport(msgspec.Struct, kw_only=True):
    """The lift of an experiment over `window_days` after each member's first exposure."""

    experiment_id: str
    window_days: int
    as_of: datetime
    method: str
    arms: list[ArmReport]
    summary: list[str]
    """One plain sentence per variant and measure whose interval excludes zero, or a sentence
    saying none does."""


_MEASURES = {
    "purchases_per_member": ("purchases", "purchases per member", 1.0),
    "amount_per_member": ("amount", "purchase amount per member", 1.0),
    "events_per_member": ("events", "events per member", 1.0),
    "retention_30_days": ("retained", "30-day retention", 100.0),
    "points_cost_per_member": ("cost", "points cost per member", 1.0),
}


def _lift(holdout: list[float], values: list[float]) -> Lift | None:
    d = welch(holdout, values)
    if d is None:
        return None
    return Lift(
        difference=round(d.difference, 4),
        low=round(d.low, 4),
        high=round(d.high, 4),
        significant=d.excludes_zero,
    )


def _sentence(arm: str, label: str, scale: float, lift: Lift) -> str:
    unit = " points" if scale == 100.0 else ""
    verb = "raised" if lift.difference > 0 else "lowered"
    return (
        f"{arm} {verb} {label} by {abs(lift.difference) * scale:.1f}{unit}, 95% CI "
        f"{lift.low * scale:.1f} to {lift.high * scale:.1f} (against the holdout)"
    )


def build_report(
    experiment_id: str,
    split: dict[str, int],
    rows: list[Any],
    now: datetime,
    window_days: int,
) -> ExperimentReport:
    """The report from each exposed member's row (`exposed_members`); pure."""
    window = timedelta(days=window_days)
    exposed: dict[str, int] = defaultdict(int)
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    cost: dict[str, int] = defaultdict(int)
    for row in rows:
        exposed[row["arm"]] += 1
        if row["at"] + window > now:
            continue  # the window has not passed yet
        for column in ("purchases", "amount", "events", "cost"):
            values[row["arm"]][column].append(float(row[column]))
        values[row["arm"]]["retained"].append(1.0 if row["retained"] else 0.0)
        cost[row["arm"]] += int(row["cost"])
    base = values[HOLDOUT]
    arms: list[ArmReport] = []
    summary: list[str] = []
    for arm, bp in split.items():
        measures: dict[str, Measure] = {}
        for field, (column, label, scale) in _MEASURES.items():
            xs = values[arm][column]
            lift = None if arm == HOLDOUT else _lift(base[column], xs)
            measures[field] = Measure(mean=round(sum(xs) / len(xs), 4) if xs else 0.0, lift=lift)
            if lift is not None and lift.significant and column != "cost":
                summary.append(_sentence(arm, label, scale, lift))
        arms.append(
            ArmReport(
                arm=arm,
                share_percent=bp / 100,
                members_exposed=exposed[arm],
                members_measured=len(values[arm]["events"]),
                points_cost=cost[arm],
                **measures,
            )
        )
    if not summary:
        summary.append(
            "no variant's difference to the holdout is significant at 95% (every interval "
            "includes zero)"
        )
    return ExperimentReport(
        experiment_id=experiment_id,
        window_days=window_days,
        as_of=now,
        method="Welch's t, two-sided 95% confidence interval of the difference in means",
        arms=arms,
        summary=summary,
    )


async def report(
    runtime: Runtime, experiment_id: str, window_days: int = DEFAULT_WINDOW
) -> ExperimentReport:
    """The lift report as of now; NotFound for an experiment the active rules do not declare."""
    return await report_on(
        runtime.db, runtime.rules.current, experiment_id, window_days, runtime.clock.now()
    )


async def report_on(
    db: Database, ruleset: Ruleset, experiment_id: str, window_days: int, now: datetime
) -> ExperimentReport:
    """The lift report of an experiment of `ruleset` as of `now` (the API's and the CLI's)."""
    if not 31 <= window_days <= 365:
        raise InvalidInput("window_days must be 31 to 365", field="window_days")
    experiment = ruleset.experiments.get(experiment_id)
    if experiment is None:
        raise NotFound(
            f"no experiment '{experiment_id}' in the active rules", field="experiment_id"
        )
    async with db.connection() as conn:
        rows = await experiment_store.exposed_members(
            conn, experiment_id, ruleset.program.timezone, window_days
        )
    return build_report(experiment_id, experiment.split(), rows, now, window_days)
