"""`loyalty rules versions | show | diff | rollback`: the stored rule versions, on the service's
database (no rules folder needed)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

from service.cli_database import on_database
from service.settings import Settings

if TYPE_CHECKING:
    from service.store.database import Database

__all__ = ["add_version_commands"]


def _when(moment: datetime | None) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else "-"


def _versions(settings: Settings, args: argparse.Namespace) -> int:
    from service.operations.rule_versions import versions

    async def work(db: Database) -> int:
        listed = await versions(db, args.limit)
        row = "{:1} {:16}  {:25}  {:>5}  {:>5}  {:>5}  {:25}  {}"
        print(row.format("", "VERSION", "CREATED", "FILES", "RULES", "TIMES", "LAST ACTIVE", "BY"))
        for v in listed.versions:
            print(
                row.format(
                    "*" if v.active else "",
                    v.short_version,
                    _when(v.created_at),
                    len(v.files),
                    "-" if v.rules is None else v.rules,
                    v.activations,
                    _when(v.last_activated_at),
                    v.published_by or "-",
                )
            )
        print("\nactivations, latest first:")
        for a in listed.activations:
            print(f"  {_when(a.activated_at)}  {a.short_version}  {a.activated_by or '-'}")
        if listed.more:
            print(f"(older ones not shown: --limit {args.limit} was reached)")
        return 0

    return on_database(settings, work)


def _show(settings: Settings, args: argparse.Namespace) -> int:
    from service.operations.rule_versions import version_view

    async def work(db: Database) -> int:
        shown = await version_view(db, args.version)
        if args.file is not None:
            if args.file not in shown.files:
                names = ", ".join(shown.files)
                print(
                    f"error: --file: {shown.short_version} has no {args.file} ({names})",
                    file=sys.stderr,
                )
                return 1
            sys.stdout.write(shown.files[args.file])
            return 0
        state = "active" if shown.active else "not active"
        rules = "?" if shown.rules is None else shown.rules
        print(f"version {shown.version} ({state}): {rules} rules in {len(shown.files)} files")
        print(f"published {_when(shown.created_at)} by {shown.published_by or '-'}")
        for name, text in shown.files.items():
            print(f"\n==> {name} <==")
            sys.stdout.write(text if text.endswith("\n") or not text else f"{text}\n")
        return 0

    return on_database(settings, work)


def _diff(settings: Settings, args: argparse.Namespace) -> int:
    from service.operations.rule_versions import diff

    async def work(db: Database) -> int:
        found = await diff(db, args.a, args.b)
        for change in found.files:
            if change.diff:
                sys.stdout.write(change.diff)
        counts: dict[str, list[str]] = {}
        for change in found.files:
            counts.setdefault(change.status, []).append(change.file)
        files = "; ".join(f"{status}: {', '.join(names)}" for status, names in counts.items())
        print(f"{found.a[:16]} -> {found.b[:16]}: files {files}", file=sys.stderr)
        if found.rules is None:
            print("rules: not compared (today's loader refuses one of them)", file=sys.stderr)
        else:
            rules = found.rules
            lists = (("added", rules.added), ("removed", rules.removed), ("changed", rules.changed))
            said = "; ".join(f"{what}: {', '.join(ids)}" for what, ids in lists if ids)
            print(f"rules {said or 'the same'}", file=sys.stderr)
        return 0

    return on_database(settings, work)


def _rollback(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from service.operations.rule_versions import roll_back_on

    async def work(db: Database) -> int:
        published = await roll_back_on(db, args.version, f"cli:{getpass.getuser()}")
        if published.changed:
            print(
                f"rolled back to {published.short_version}: {published.rules} rules in "
                f"{len(published.files)} files; every replica switches within seconds"
            )
        else:
            print(f"{published.short_version} is already the active version; nothing changed")
        print(published.version)
        return 0

    return on_database(settings, work)


def add_version_commands(rule_commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `versions`, `show`, `diff` and `rollback` to `loyalty rules`."""
    named = "a version: its 64 hex digits, or a prefix of at least 8 that only it starts with"
    listed = rule_commands.add_parser(
        "versions",
        help="list the stored versions, newest first (* active), and the activations (database)",
    )
    listed.add_argument(
        "--limit", type=int, default=50, help="versions and activations shown (1-500, default 50)"
    )
    listed.set_defaults(run=_versions)
    show = rule_commands.add_parser("show", help="print a stored version's files (database)")
    show.add_argument("version", metavar="VERSION", help=named)
    show.add_argument("--file", metavar="NAME", help="print only this file, exactly as stored")
    show.set_defaults(run=_show)
    diff = rule_commands.add_parser(
        "diff", help="print the unified diff from version A to version B (database)"
    )
    diff.add_argument("a", metavar="A", help=named)
    diff.add_argument("b", metavar="B", help=named)
    diff.set_defaults(run=_diff)
    rollback = rule_commands.add_parser(
        "rollback",
        help="publish a stored version's files again, checked like any publication (database)",
    )
    rollback.add_argument("version", metavar="VERSION", help=named)
    rollback.set_defaults(run=_rollback)
