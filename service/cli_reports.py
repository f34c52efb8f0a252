"""`loyalty reports verify`: the rollups the reports read equal the same figures computed from
the ledger (exit 1 and the first differences if not); `loyalty reports rebuild`: replace them
with that computation (once, after upgrading a database that has history)."""

from __future__ import annotations

import argparse

from service.cli_database import on_database
from service.settings import Settings
from service.store.database import Database

__all__ = ["add_report_commands"]

_SHOWN = 20


async def _timezone(db: Database) -> str | None:
    from service.engine import load_ruleset_from_files
    from service.store import rulesets as ruleset_store

    async with db.connection() as conn:
        row = await ruleset_store.fetch_active(conn)
    if row is None:
        return None
    return load_ruleset_from_files(dict(row.files)).program.timezone


def _reports(settings: Settings, args: argparse.Namespace) -> int:
    from service.operations.rollups import rebuild_rollups, verify_rollups

    async def work(db: Database) -> int:
        timezone = await _timezone(db)
        if timezone is None:
            print("error: no ruleset is active (publish one first)")
            return 1
        if args.reports_command == "rebuild":
            written = await rebuild_rollups(db, timezone)
            print(f"rebuilt: {written} figures")
            return 0
        compared, differences = await verify_rollups(db, timezone)
        for d in differences[:_SHOWN]:
            print(f"{d.metric} {d.day} {d.key or '-'}: stored {d.stored}, computed {d.computed}")
        if len(differences) > _SHOWN:
            print(f"... and {len(differences) - _SHOWN} more")
        print(f"checked {compared} figures: {len(differences)} differ")
        return 1 if differences else 0

    return on_database(settings, work)


def add_report_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `loyalty reports verify` and `loyalty reports rebuild`."""
    reports = commands.add_parser("reports", help="the daily rollups the reports read")
    sub = reports.add_subparsers(dest="reports_command", required=True)
    sub.add_parser(
        "verify", help="the rollups equal the figures computed from the ledger (exit 1 if not)"
    )
    sub.add_parser(
        "rebuild",
        help="replace the rollups with the figures computed from the ledger (after an upgrade)",
    )
    reports.set_defaults(run=_reports)
