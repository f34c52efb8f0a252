"""`loyalty experiments report ID`: the lift report of an experiment of the active ruleset, as
text (the plain sentences and a table per arm) or JSON."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import msgspec

from service.cli_database import on_database
from service.settings import Settings
from service.store.database import Database

__all__ = ["add_experiment_commands", "report_text"]


def report_text(report: object) -> str:
    """The report as a reader wants it: the sentences first, then one line per arm."""
    from service.views.experiments import ExperimentReport

    assert isinstance(report, ExperimentReport)
    lines = [
        f"experiment {report.experiment_id}: {report.window_days} days after first exposure, "
        f"as of {report.as_of:%Y-%m-%d %H:%M} UTC ({report.method})",
        *(f"  {sentence}" for sentence in report.summary),
        "",
        f"{'arm':<12} {'share':>6} {'exposed':>8} {'measured':>8} {'purch/m':>8} "
        f"{'amount/m':>9} {'events/m':>8} {'ret30':>6} {'cost':>8}",
    ]
    for arm in report.arms:
        lines.append(
            f"{arm.arm:<12} {arm.share_percent:>5g}% {arm.members_exposed:>8} "
            f"{arm.members_measured:>8} {arm.purchases_per_member.mean:>8.3f} "
            f"{arm.amount_per_member.mean:>9.2f} {arm.events_per_member.mean:>8.3f} "
            f"{arm.retention_30_days.mean * 100:>5.1f}% {arm.points_cost:>8}"
        )
        for name in ("purchases_per_member", "amount_per_member", "retention_30_days"):
            lift = getattr(arm, name).lift
            if lift is not None:
                mark = "*" if lift.significant else " "
                lines.append(
                    f"{'':<12} {mark} {name}: {lift.difference:+.4f} "
                    f"(95% CI {lift.low:+.4f} to {lift.high:+.4f})"
                )
    return "\n".join(lines)


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from service.engine import load_ruleset_from_files
    from service.store import rulesets as ruleset_store
    from service.views.experiments import report_on

    async def work(db: Database) -> int:
        async with db.connection() as conn:
            row = await ruleset_store.fetch_active(conn)
        if row is None:
            print("error: no ruleset is active (publish one first)")
            return 1
        ruleset = load_ruleset_from_files(dict(row.files))
        now = datetime.now(UTC)
        report = await report_on(db, ruleset, args.experiment_id, args.window_days, now)
        print(msgspec.json.encode(report).decode() if args.json else report_text(report))
        return 0

    return on_database(settings, work)


def add_experiment_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `loyalty experiments report`."""
    experiments = commands.add_parser("experiments", help="experiments of the active rules")
    sub = experiments.add_subparsers(dest="experiments_command", required=True)
    report = sub.add_parser(
        "report",
        help="each arm against the holdout: purchases, amount, events, 30-day retention, cost, "
        "with 95%% intervals (Welch's t)",
    )
    report.add_argument("experiment_id", metavar="ID")
    report.add_argument(
        "--window-days", type=int, default=60, help="days after first exposure (31-365, 60)"
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(run=_report)
