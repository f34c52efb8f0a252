"""The `loyalty` command: serve, migrate, keys, openapi, rules, ledger, worker, webhooks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.cli_database import database_url, print_error
from service.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from typing import TypeAlias

    from service.store.database import Connection

    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
    """What `add_subparsers` answers: the commands of a parser."""

__all__ = ["database_url", "main"]


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _no_ruleset(settings: Settings, url: str) -> bool:
    """Print what to do and say True when there is no ruleset to run (`service.startup`)."""
    from service.startup import no_ruleset_problem

    problem = no_ruleset_problem(url, settings.rules_path)
    if problem is not None:
        print(problem, file=sys.stderr)
    return problem is not None


@contextlib.contextmanager
def _long_running(settings: Settings) -> Iterator[str | None]:
    """What `serve` and `worker` start with: logging, SIGTERM as SystemExit (uvicorn re-raises
    it after its graceful shutdown; as SystemExit the embedded PostgreSQL is stopped cleanly on
    the way out), the migrated database; its URL, or None when no ruleset can be active (said
    on stderr: exit 2)."""
    from service.http.logs import configure_logging
    from service.store.migrate import migrate

    configure_logging(settings.log_level)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with database_url(settings) as url:
        migrate(url)
        yield None if _no_ruleset(settings, url) else url


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from service.http.servers import uvicorn_options

    with _long_running(settings) as url:
        if url is None:
            return 2
        os.environ["DATABASE_URL"] = url
        workers = settings.workers
        with tempfile.TemporaryDirectory(prefix="loyalty-metrics-") as metrics_dir:
            if workers > 1:
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            if settings.server == "granian":
                _serve_granian(settings)
                return 0
            options = uvicorn_options(settings)
            uvicorn.run("service.app:create_app_from_env", factory=True, **options)
    return 0


def _serve_granian(settings: Settings) -> None:
    """The app on granian (Rust HTTP, uvloop in each worker); it stops on SIGINT or SIGTERM."""
    from granian import Granian

    from service.http.servers import granian_options

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # granian installs its own handlers
    Granian("service.app:create_app_from_env", factory=True, **granian_options(settings)).serve()


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from service.store.migrate import migrate

    with database_url(settings) as url:
        migrate(url)
    print("database migrated to the latest schema")
    return 0


def _cli_actor() -> str:
    """Who ran a command, as the audit log names them (`cli:<user>`)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    from service.cli_database import on_database
    from service.store.database import Database

    commands = {"create": _keys_create, "list": _keys_list, "revoke": _keys_revoke}

    async def work(db: Database) -> int:
        async with db.transaction() as conn:
            return await commands[args.keys_command](conn, args)

    return on_database(settings, work)


async def _keys_create(conn: Connection, args: argparse.Namespace) -> int:
    from service.auth import generate_key
    from service.errors import Conflict
    from service.operations.keys import store_key

    scopes = [s for chunk in args.scope for s in chunk.split(",") if s]
    try:
        issued = generate_key(args.name, scopes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        await store_key(conn, issued, None)
    except Conflict:
        print(f"error: a key named '{args.name}' exists", file=sys.stderr)
        return 2
    await _audit(
        conn,
        "createKey",
        "loyalty keys create",
        201,
        {"key_id": issued.key_id, "name": issued.name},
    )
    print(issued.token)
    print(
        f"created key '{issued.name}' with scopes {', '.join(issued.scopes)}; "
        "the token above is shown once",
        file=sys.stderr,
    )
    return 0


async def _audit(
    conn: Connection, action: str, command: str, status: int, detail: dict[str, Any]
) -> None:
    """Record a command in the audit log, as the CLI's user did it."""
    from service.store import audit as audit_store

    await audit_store.append(
        conn,
        actor=_cli_actor(),
        key_id=None,
        action=action,
        method="CLI",
        path=command,
        status=status,
        detail=detail,
    )


async def _keys_list(conn: Connection, args: argparse.Namespace) -> int:
    from service.store import keys as key_store

    for key in await key_store.list_keys(conn):
        state = "revoked" if key.revoked_at else "active"
        used = key.last_used_at.isoformat() if key.last_used_at else "never"
        print(f"{key.name}\t{','.join(key.scopes)}\t{state}\tused {used}")
    return 0


async def _keys_revoke(conn: Connection, args: argparse.Namespace) -> int:
    from service.store import keys as key_store

    if not await key_store.revoke_key(conn, args.name):
        print(f"error: no active key named '{args.name}'", file=sys.stderr)
        return 1
    await _audit(conn, "revokeKey", "loyalty keys revoke", 200, {"name": args.name})
    print(f"revoked key '{args.name}'")
    return 0


def _rules(settings: Settings, args: argparse.Namespace) -> int:
    """The commands on a rules folder: check, test, dry-run, publish."""
    directory = Path(args.dir) if args.dir else settings.rules_path
    if not directory.is_dir():
        print(f"error: {directory} is not a folder", file=sys.stderr)
        return 2
    if args.rules_command in ("check", "test"):
        from service.engine import check_command, test_command

        command = check_command if args.rules_command == "check" else test_command
        code, lines = command(directory)
        for line in lines:
            print(line)
        return code
    if args.rules_command == "dry-run":
        return _rules_dry_run(settings, directory, args.member, args.event)
    return _rules_publish(settings, directory)


def _rules_publish(settings: Settings, directory: Path) -> int:
    import getpass

    from service.errors import DomainError, RulesetRefused
    from service.operations.rules import publish_to
    from service.store.database import Database
    from service.store.migrate import migrate

    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}

    async def run(url: str) -> int:
        db = Database(url, min_size=0, max_size=2, timeout=settings.db_timeout_seconds)
        await db.open()
        try:
            _, published = await publish_to(db, files, f"cli:{getpass.getuser()}")
        except RulesetRefused as exc:
            for problem in exc.problems:
                print(f"{directory}/{problem}")
            print(f"{len(exc.problems)} problem(s) found; the active ruleset is unchanged")
            return 1
        except DomainError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
        finally:
            await db.close()
        if published.changed:
            print(
                f"published {published.short_version}: {published.rules} rules in "
                f"{len(published.files)} files; every replica switches within seconds"
            )
        else:
            print(f"{published.short_version} is already the active version; nothing changed")
        print(published.version)
        return 0

    with database_url(settings) as url:
        migrate(url)
        return asyncio.run(run(url))


def _dry_run_event(text: str, member_id: str, now: str) -> dict[str, object]:
    """The `--event` argument (JSON text, or a file holding it) with the defaults filled in."""
    source = text if text.lstrip().startswith("{") else Path(text).read_text(encoding="utf-8")
    event = json.loads(source)
    if not isinstance(event, dict):
        raise ValueError("the event must be a JSON object")
    return {"member_id": member_id, "occurred_at": now, **event}


def _rules_dry_run(settings: Settings, directory: Path, member_id: str, event_arg: str) -> int:
    import msgspec

    from service.core.clock import SystemClock
    from service.errors import DomainError, RulesetRefused
    from service.operations.rules import load_draft
    from service.pipeline.intake import Accepted
    from service.store.database import Database
    from service.store.migrate import migrate
    from service.views.dry_run import DryRunRequest, dry_run_on

    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.yaml"))}
    accepted = Accepted.at(settings, SystemClock().now())
    try:
        event = _dry_run_event(event_arg, member_id, accepted.now.isoformat())
        body = msgspec.json.encode({"event": event, "member_id": member_id})
        request = msgspec.json.decode(body, type=DryRunRequest)
    except (OSError, ValueError, msgspec.ValidationError) as exc:
        print(f"error: --event: {exc}", file=sys.stderr)
        return 2

    async def run(url: str) -> int:
        try:
            draft = await load_draft(files)
        except RulesetRefused as exc:
            for problem in exc.problems:
                print(f"{directory}/{problem}")
            print(f"{len(exc.problems)} problem(s) found; nothing was tried")
            return 1
        except DomainError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
        db = Database(url, min_size=0, max_size=2, timeout=settings.db_timeout_seconds)
        await db.open()
        try:
            answer = await dry_run_on(db, draft, "draft", accepted, request)
        except DomainError as exc:
            print_error(exc)
            return 1
        finally:
            await db.close()
        print(msgspec.json.format(msgspec.json.encode(answer), indent=2).decode())
        print(
            f"draft {answer.short_version} (not published) for member {member_id}: "
            f"{answer.points} points, fired {', '.join(answer.fired) or 'nothing'}; "
            "nothing was written",
            file=sys.stderr,
        )
        return 0

    with database_url(settings) as url:
        migrate(url)
        return asyncio.run(run(url))


def _ledger(settings: Settings, args: argparse.Namespace) -> int:
    if args.ledger_command == "replay":
        from service.cli_history import ledger_replay
        from service.store.migrate import migrate

        with database_url(settings) as url:
            migrate(url)
            return ledger_replay(settings, args, url)
    from service.operations.ledger_check import MemberMismatch, verify_ledger
    from service.store.database import Database
    from service.store.migrate import migrate

    async def run(url: str) -> int:
        db = Database(url, min_size=0, max_size=2, timeout=60)
        await db.open()
        bad = 0
        try:
            async for outcome in verify_ledger(db):
                if isinstance(outcome, MemberMismatch):
                    bad += 1
                    for problem in outcome.problems:
                        print(f"{outcome.member_id}: {problem}")
                else:
                    print(f"checked {outcome} members: {bad} with differences")
        finally:
            await db.close()
        return 1 if bad else 0

    with database_url(settings) as url:
        migrate(url)
        return asyncio.run(run(url))


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from service.worker import run_standalone

    with _long_running(settings) as url:
        if url is None:
            return 2
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_standalone(settings, url, once=args.once))
    return 0


def _openapi(settings: Settings, args: argparse.Namespace) -> int:
    from service.app import create_app

    app = create_app(settings)
    document = app.openapi_schema.to_schema()
    print(json.dumps(document, indent=2, sort_keys=True))
    return 0


def _parser() -> argparse.ArgumentParser:
    from service.cli_experiments import add_experiment_commands
    from service.cli_reports import add_report_commands
    from service.cli_webhooks import add_webhook_commands

    parser = argparse.ArgumentParser(
        prog="loyalty", description="Loyalty and gamification service."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_serve(commands)
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(run=_migrate)
    _add_keys(commands)
    _add_rules(commands)
    _add_ledger(commands)
    add_experiment_commands(commands)
    add_report_commands(commands)
    _add_worker(commands)
    add_webhook_commands(commands)
    commands.add_parser(
        "openapi", help="print the OpenAPI document the code generates"
    ).set_defaults(run=_openapi)
    return parser


def _add_serve(commands: Subcommands) -> None:
    """`loyalty serve`."""
    serve = commands.add_parser("serve", help="run the HTTP service (migrates first)")
    serve.add_argument("--host", help="address to bind (LOYALTY_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (LOYALTY_PORT, default 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (LOYALTY_WORKERS)")
    serve.add_argument(
        "--server", choices=["uvicorn", "granian"], help="HTTP server (LOYALTY_SERVER)"
    )
    serve.set_defaults(run=_serve)


def _add_keys(commands: Subcommands) -> None:
    """`loyalty keys create | list | revoke`."""
    from service.auth import SCOPES

    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key; prints its token once")
    create.add_argument("--name", required=True, help="a unique name, e.g. checkout")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        help=f"a scope (repeat or comma-separate): {', '.join(SCOPES)}",
    )
    key_commands.add_parser("list", help="list keys (never their secrets)")
    revoke = key_commands.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("--name", required=True)
    keys.set_defaults(run=_keys)


def _add_rules(commands: Subcommands) -> None:
    """`loyalty rules`: on a rules folder, and on the stored versions."""
    from service.cli_history import add_backtest_command
    from service.cli_versions import add_version_commands

    rules = commands.add_parser(
        "rules",
        help="check, test, dry-run and publish the rule files; list, show, diff and roll back "
        "the published versions",
    )
    rule_commands = rules.add_subparsers(dest="rules_command", required=True)
    for name, text in (
        ("check", "load and check the rule files; print every problem as file:line:col"),
        ("test", "run the tests: blocks of the rule files"),
        ("publish", "check the rule files, then make them the active ruleset (database)"),
    ):
        sub = rule_commands.add_parser(name, help=text)
        sub.add_argument(
            "dir",
            nargs="?",
            metavar="DIR",
            help="the rules folder (LOYALTY_RULES_DIR, default rules)",
        )
        sub.set_defaults(run=_rules)
    dry_run = rule_commands.add_parser(
        "dry-run",
        help="evaluate one event for a stored member under the rule files in DIR, unpublished "
        "(database, read only); print the answer as JSON",
    )
    dry_run.add_argument(
        "dir", nargs="?", metavar="DIR", help="the draft rules folder (default LOYALTY_RULES_DIR)"
    )
    dry_run.add_argument(
        "--member", required=True, help="the stored member's id (one never seen is a new member)"
    )
    dry_run.add_argument(
        "--event",
        required=True,
        metavar="FILE_OR_JSON",
        help='the event as JSON, e.g. \'{"type": "review", "attributes": {...}}\', or a file '
        "holding it; member_id defaults to --member, occurred_at to now",
    )
    dry_run.set_defaults(run=_rules)
    add_version_commands(rule_commands)  # on the database; no rules folder
    add_backtest_command(rule_commands)


def _add_ledger(commands: Subcommands) -> None:
    """`loyalty ledger verify | replay`."""
    ledger = commands.add_parser("ledger", help="check the points ledger")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_commands.add_parser(
        "verify", help="every balance equals the sum of its entries (exit 1 if not)"
    )
    replay = ledger_commands.add_parser(
        "replay",
        help="decide every stored operation again with the ruleset version that booked it and "
        "compare with the stored ledger, lots, balances and game state (exit 1 on a difference)",
    )
    replay.add_argument("--check", action="store_true", help="compare (required)")
    replay.add_argument("--members", help="only these members (comma-separated ids)")
    replay.add_argument(
        "--per-member", type=int, default=5, help="differences shown per member (default 5)"
    )
    ledger.set_defaults(run=_ledger)


def _add_worker(commands: Subcommands) -> None:
    """`loyalty worker`."""
    worker = commands.add_parser(
        "worker",
        help="activate pending points, expire lots, time out holds, deliver webhooks (serve "
        "runs it too)",
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.set_defaults(run=_worker)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `loyalty` console script."""
    args = _parser().parse_args(argv)
    overrides = {name: getattr(args, name, None) for name in ("host", "port", "workers", "server")}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from service.store.embedded.errors import EmbeddedPostgresError

    run: Callable[[Settings, argparse.Namespace], int] = args.run
    try:
        return run(settings, args)
    except EmbeddedPostgresError as exc:  # says what to do: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
