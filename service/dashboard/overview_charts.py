"""The overview's charts and figures, built from the program reports (pure: reports in, the
charts and tables the template draws out). Days read `2026-03-02`, months `2026-03`."""

from __future__ import annotations

from datetime import date

import msgspec

from service.views import program_reports as reports

from .charts import Chart, Series

__all__ = [
    "Figure",
    "Table",
    "activity_charts",
    "cohort_chart",
    "experiment_table",
    "liability_charts",
    "member_charts",
    "now_figures",
    "points_charts",
    "top_table",
]


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One number of the "Now" row."""

    id: str
    label: str
    value: int | float | str
    hint: str = ""


class Table(msgspec.Struct, frozen=True, kw_only=True):
    """A plain table of the overview (top members, experiments)."""

    id: str
    title: str
    headings: list[str]
    rows: list[list[str]]
    link: str = ""
    """When set, each row's first cell links to this prefix and the cell's text."""


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)


def now_figures(
    liability: reports.Liability, breakage: reports.Breakage, active: reports.ActiveMembers
) -> list[Figure]:
    """Outstanding points and their value, breakage, DAU and MAU."""
    value = liability.outstanding_value
    return [
        Figure(
            id="fig-outstanding",
            label="Outstanding points",
            value=liability.outstanding,
            hint=f"worth {value:,} {liability.currency}" if value is not None else "",
        ),
        Figure(id="fig-available", label="Available", value=liability.available),
        Figure(id="fig-pending", label="Pending", value=liability.pending),
        Figure(id="fig-held", label="Held at checkout", value=liability.held),
        Figure(
            id="fig-breakage",
            label="Breakage (12 months)",
            value=f"{breakage.rate * 100:.1f} %" if breakage.rate is not None else "-",
            hint="expired over earned",
        ),
        Figure(id="fig-dau", label="Active today", value=active.dau, hint="DAU"),
        Figure(id="fig-mau", label="Active this month", value=active.mau, hint="MAU"),
    ]


def liability_charts(liability: reports.Liability, breakage: reports.Breakage) -> list[Chart]:
    """The liability over 90 days and by expiry month; breakage per month."""
    return [
        Chart(
            id="liability-history",
            title="Outstanding points, last 90 days",
            kind="line",
            label_heading="Day",
            labels=[d.day.isoformat() for d in liability.history],
            series=[Series("Outstanding", [d.points for d in liability.history])],
            unit="points",
        ),
        Chart(
            id="liability-expiring",
            title="Outstanding points by month of expiry",
            kind="bar",
            label_heading="Month",
            labels=[_month(m.month) for m in liability.expiring],
            series=[Series("Points", [m.points for m in liability.expiring])],
            unit="points",
            note=f"{liability.without_expiry:,} outstanding points have no expiry date.",
        ),
        Chart(
            id="breakage-months",
            title="Points earned and expired by month",
            kind="bar",
            label_heading="Month",
            labels=[_month(m.month) for m in breakage.months],
            series=[
                Series("Earned", [m.earned for m in breakage.months]),
                Series("Expired", [m.expired for m in breakage.months]),
            ],
            unit="points",
        ),
        Chart(
            id="breakage-rate",
            title="Breakage rate by month",
            kind="line",
            label_heading="Month",
            labels=[_month(m.month) for m in breakage.months],
            series=[Series("Expired over earned", [_percent(m.rate) for m in breakage.months])],
            unit="%",
            digits=2,
        ),
    ]


def points_charts(points: reports.PointsReport) -> list[Chart]:
    """Points earned and spent per day, and earned per rule."""
    return [
        Chart(
            id="points-days",
            title="Points earned and spent per day",
            kind="line",
            label_heading="Day",
            labels=[d.day.isoformat() for d in points.days],
            series=[
                Series("Earned", [d.earned for d in points.days]),
                Series("Spent", [d.spent for d in points.days]),
            ],
            unit="points",
        ),
        Chart(
            id="points-rules",
            title="Points earned by rule, last 90 days",
            kind="bar",
            label_heading="Rule",
            labels=[r.rule_id or "(no rule)" for r in points.by_rule],
            series=[Series("Points", [r.points for r in points.by_rule])],
            unit="points",
        ),
    ]


def member_charts(tiers: reports.TierReport, levels: reports.EngagementLevels) -> list[Chart]:
    """Members per tier now, and per engagement level over the window."""
    return [
        Chart(
            id="tiers",
            title="Members per tier",
            kind="doughnut",
            label_heading="Tier",
            labels=[c.name for c in tiers.distribution],
            series=[Series("Members", [c.members for c in tiers.distribution])],
        ),
        Chart(
            id="engagement-days",
            title="Members per engagement level, last 90 days",
            kind="stacked",
            label_heading="Day",
            labels=[d.day.isoformat() for d in levels.days],
            series=[
                Series(level, [d.levels.get(level, 0) for d in levels.days])
                for level in levels.levels
            ],
            unit="members",
        ),
    ]


def activity_charts(active: reports.ActiveMembers) -> list[Chart]:
    """Active members per day (DAU) and per month (MAU)."""
    return [
        Chart(
            id="active-days",
            title="Active members per day (DAU)",
            kind="line",
            label_heading="Day",
            labels=[p.start.isoformat() for p in active.days],
            series=[Series("Members", [p.members for p in active.days])],
            unit="members",
        ),
        Chart(
            id="active-months",
            title="Active members per month (MAU)",
            kind="bar",
            label_heading="Month",
            labels=[_month(p.start) for p in active.months],
            series=[Series("Members", [p.members for p in active.months])],
            unit="members",
            note=f"Stickiness (DAU over MAU): {_percent(active.stickiness) or 0:.1f} %.",
        ),
    ]


def cohort_chart(cohorts: reports.Cohorts) -> Chart:
    """Each weekly signup cohort's share active in each week after it signed up."""
    shown = [c for c in cohorts.cohorts if c.members > 0]
    weeks = max((len(c.rates) for c in shown), default=0)
    return Chart(
        id="cohorts",
        title="Cohort retention: share of each signup week active in later weeks",
        kind="line",
        label_heading="Weeks after signup",
        labels=[f"week {k}" for k in range(weeks)],
        series=[
            Series(
                f"{c.week.isoformat()} ({c.members})",
                [round(c.rates[k] * 100, 2) if k < len(c.rates) else None for k in range(weeks)],
            )
            for c in shown
        ],
        unit="%",
        digits=2,
    )


def top_table(top: reports.TopMembers) -> Table:
    """The members holding the most available points."""
    return Table(
        id="top-members",
        title="Top members by available points",
        headings=["Member", "Name", "Available", "Pending", "Earned in all"],
        rows=[
            [
                m.member_id,
                m.display_name or "",
                f"{m.available:,}",
                f"{m.pending:,}",
                f"{m.lifetime_earned:,}",
            ]
            for m in top.members
        ],
        link="/dashboard/members/",
    )


def experiment_table(summaries: reports.ExperimentSummaries) -> Table:
    """Exposures and points per arm of every experiment."""
    return Table(
        id="experiment-summaries",
        title="Experiments: exposures and points per arm",
        headings=["Experiment", "Arm", "Exposures", "Points"],
        rows=[
            [e.experiment_id, a.arm, f"{a.exposures:,}", f"{a.points:,}"]
            for e in summaries.experiments
            for a in e.arms
        ],
        link="/dashboard/experiments/",
    )
