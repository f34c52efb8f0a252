"""`loyalty webhooks ...`: subscriptions and their deliveries on the service's database, the
same use cases as the admin API."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

import msgspec

from service.cli_database import on_database
from service.settings import Settings

if TYPE_CHECKING:
    from service.runtime import Runtime
    from service.store.database import Database

__all__ = ["add_webhook_commands"]


def _runtime(db: Database) -> Runtime:
    from service.active_ruleset import ActiveRuleset
    from service.core.clock import SystemClock
    from service.runtime import Runtime

    return Runtime(db=db, clock=SystemClock(), rules=ActiveRuleset(db))


def _print(value: Any) -> None:
    print(json.dumps(msgspec.to_builtins(value), indent=2))


def _kinds(text: str) -> list[Any]:
    return [k.strip() for k in text.split(",") if k.strip()]


def _print_deliveries(deliveries: list[Any]) -> None:
    for d in deliveries:
        code = d.last_status_code if d.last_status_code is not None else "-"
        when = d.last_attempt_at.isoformat(timespec="seconds") if d.last_attempt_at else "-"
        error = f"\t{d.last_error}" if d.last_error else ""
        print(
            f"{d.message_id}\t{d.kind}\t{d.member_id}\t{d.status}\t{d.attempts}\t"
            f"{code}\t{when}{error}"
        )


async def _run(settings: Settings, args: argparse.Namespace, db: Database) -> int:
    from service.operations import webhooks as uc

    runtime = _runtime(db)
    command = args.webhooks_command
    if command == "create":
        data = msgspec.convert(
            {
                "url": args.url,
                "kinds": _kinds(args.kinds),
                "description": args.description,
                "expiring_days": args.expiring_days,
                "at_risk_hours": args.at_risk_hours,
            },
            uc.EndpointIn,
        )
        _print(await uc.create_endpoint(runtime, data, allowed_networks=settings.allowed_networks))
        print("the secret above is shown once", flush=True)
    elif command == "list":
        for e in (await uc.list_endpoints(runtime)).endpoints:
            why = f"  ({e.disabled_reason})" if e.disabled_reason else ""
            print(f"{e.endpoint_id}\t{e.status}\t{e.url}\t{','.join(e.kinds)}{why}")
    elif command == "update":
        change = msgspec.convert(
            {
                "url": args.url,
                "kinds": _kinds(args.kinds) if args.kinds else None,
                "description": args.description,
                "expiring_days": args.expiring_days,
                "at_risk_hours": args.at_risk_hours,
            },
            uc.EndpointChange,
        )
        _print(
            await uc.update_endpoint(
                runtime, args.endpoint_id, change, allowed_networks=settings.allowed_networks
            )
        )
    elif command in ("pause", "resume"):
        view = await uc.set_status(
            runtime, args.endpoint_id, "paused" if command == "pause" else "active"
        )
        print(f"{view.endpoint_id}\t{view.status}")
    elif command == "delete":
        await uc.delete_endpoint(runtime, args.endpoint_id)
        print(f"deleted {args.endpoint_id}")
    elif command == "rotate-secret":
        rotation = uc.SecretRotation(overlap_seconds=args.overlap_seconds)
        _print(await uc.rotate_secret(runtime, args.endpoint_id, rotation))
    elif command == "deliveries":
        listed = await uc.list_deliveries(runtime, args.endpoint_id, args.status, None, args.limit)
        _print_deliveries(listed.deliveries)
    elif command == "redeliver":
        done = await uc.redeliver(runtime, args.endpoint_id, args.message)
        print(f"redelivered {done.redelivered}")
    return 0


def _command(settings: Settings, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        try:
            return await _run(settings, args, db)
        except msgspec.ValidationError as exc:
            print(f"error: {exc}")
            return 2

    return on_database(settings, work)


def _timing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--description", help="what it is for (e.g. CRM)")
    parser.add_argument("--expiring-days", type=int, help="points.expiring this many days before")
    parser.add_argument(
        "--at-risk-hours", type=int, help="streak.at_risk this many hours before the day ends"
    )


def add_webhook_commands(commands: Any) -> None:
    """Add `loyalty webhooks create|list|update|pause|resume|delete|rotate-secret|deliveries|
    redeliver`."""
    from service.core.webhooks import KINDS

    webhooks = commands.add_parser("webhooks", help="webhook endpoints and their deliveries")
    sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    create = sub.add_parser("create", help="subscribe a URL; prints the signing secret once")
    create.add_argument("url")
    create.add_argument("--kinds", required=True, help=f"comma-separated, of: {', '.join(KINDS)}")
    _timing(create)
    create.set_defaults(description="", expiring_days=7, at_risk_hours=4)
    sub.add_parser("list", help="every endpoint, its status and kinds")
    update = sub.add_parser("update", help="change an endpoint's URL, kinds or timing")
    update.add_argument("endpoint_id")
    update.add_argument("--url")
    update.add_argument("--kinds")
    _timing(update)
    for name, text in (
        ("pause", "keep messages for the endpoint without sending them"),
        ("resume", "send again (also re-enables an endpoint the service disabled)"),
        ("delete", "delete the endpoint and what waits for it"),
    ):
        sub.add_parser(name, help=text).add_argument("endpoint_id")
    rotate = sub.add_parser("rotate-secret", help="a new secret; the old one signs too for a while")
    rotate.add_argument("endpoint_id")
    rotate.add_argument("--overlap-seconds", type=int, default=86400)
    deliveries = sub.add_parser("deliveries", help="an endpoint's deliveries, newest first")
    deliveries.add_argument("endpoint_id")
    deliveries.add_argument("--status", choices=["pending", "delivered", "dead"])
    deliveries.add_argument("--limit", type=int, default=50)
    redeliver = sub.add_parser("redeliver", help="send dead letters again: one, or all")
    redeliver.add_argument("endpoint_id")
    redeliver.add_argument("--message", help="one message id (default: every dead letter)")
    webhooks.set_defaults(run=_command)
