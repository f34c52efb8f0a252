"""Small builders shared by the HTTP tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.settings import Settings, load_settings


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


Credential = str | Mapping[str, str]
"""An API key or member token (its bearer header is sent), or the headers themselves."""


def _headers(key: Credential) -> dict[str, str]:
    return bearer(key) if isinstance(key, str) else dict(key)


async def post(client: Any, key: Credential, path: str, body: Any, status: int = 201) -> Any:
    """POST `body` as JSON to `path` with `key`; assert the answer's status (the message is
    its text) and return its JSON."""
    response = await client.post(path, json=body, headers=_headers(key))
    assert response.status_code == status, response.text
    return response.json()


async def get(
    client: Any,
    key: Credential,
    path: str,
    status: int = 200,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """GET `path` (with query `params`) with `key`; assert the answer's status (the message
    is its text) and return its JSON."""
    response = await client.get(path, params=params, headers=_headers(key))
    assert response.status_code == status, response.text
    return response.json()


async def member_token(client: Any, key: str, member_id: str) -> str:
    """Mint a member token through the API with a `members:token` key."""
    response = await client.post(f"/v1/members/{member_id}/tokens", headers=bearer(key))
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def purchase(
    event_id: str,
    member_id: str,
    amount: str,
    occurred_at: str = "2026-03-02T08:00:00Z",
    order_id: str | None = None,
) -> dict[str, Any]:
    """A purchase event body (10 points per EUR in the demo program)."""
    return {
        "id": event_id,
        "type": "purchase",
        "member_id": member_id,
        "occurred_at": occurred_at,
        "attributes": {
            "order_id": order_id or f"order-{event_id}",
            "amount": amount,
            "currency": "EUR",
            "items": [{"sku": "TSHIRT-1", "category": "apparel", "quantity": 1, "price": amount}],
        },
    }


def refund(
    event_id: str,
    member_id: str,
    order_id: str,
    amount: str,
    occurred_at: str = "2026-03-03T08:00:00Z",
) -> dict[str, Any]:
    """A refund event body for (part of) an order."""
    return {
        "id": event_id,
        "type": "refund",
        "member_id": member_id,
        "occurred_at": occurred_at,
        "attributes": {"order_id": order_id, "amount": amount},
    }


async def loyalty(
    *args: str, env: Mapping[str, str], cwd: Any = None, status: int = 0
) -> tuple[str, str]:
    """Run the `loyalty` command with `args`, in this process's environment plus `env`;
    assert it exits with `status` (the message shows what it wrote); return its stdout and
    stderr."""
    import asyncio
    import os
    import sys

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service.cli",
        *args,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = (text.decode() for text in await asyncio.wait_for(process.communicate(), 60))
    assert process.returncode == status, (
        f"loyalty {' '.join(args)}: exit {process.returncode}\n{out}{err}"
    )
    return out, err


async def ledger_problems(db: Any) -> list[str]:
    """What `loyalty ledger verify` would report for this database (empty: all balanced)."""
    from service.operations.ledger_check import MemberMismatch, verify_ledger

    problems: list[str] = []
    async for outcome in verify_ledger(db):
        if isinstance(outcome, MemberMismatch):
            problems.extend(f"{outcome.member_id}: {p}" for p in outcome.problems)
    return problems


async def replay_problems(db: Any) -> list[str]:
    """What `loyalty ledger replay --check` would report for this database (empty: the
    stored history, decided again, books exactly what is stored)."""
    from datetime import UTC, datetime

    from service.operations.replay import replay_check
    from service.replay.compare import Difference

    problems: list[str] = []
    async for outcome in replay_check(db, datetime.now(UTC)):
        if isinstance(outcome, Difference):
            problems.append(outcome.line())
        elif isinstance(outcome, str):
            problems.append(outcome)
    return problems


_SUMMED_BALANCES = """
SELECT member_id, balance AS name, sum(points) AS points
  FROM ledger_entries GROUP BY member_id, balance
UNION ALL  -- activate, hold and release also move their counterpart the other way
SELECT member_id, CASE kind WHEN 'activate' THEN 'pending' ELSE 'held' END, -sum(points)
  FROM ledger_entries WHERE kind IN ('activate', 'hold', 'release')
 GROUP BY member_id, kind
"""


async def rollup_problems(db: Any) -> list[str]:
    """What `loyalty reports verify` would report: the program's rollups against the figures
    computed from the ledger (empty: they agree), in the active ruleset's time zone."""
    from service.engine import load_ruleset_from_files
    from service.operations.rollups import verify_rollups
    from service.store import rulesets as ruleset_store

    async with db.connection() as conn:
        row = await ruleset_store.fetch_active(conn)
    if row is None:
        return []
    timezone = load_ruleset_from_files(dict(row.files)).program.timezone
    _, differences = await verify_rollups(db, timezone)
    return [f"{d.metric} {d.day} {d.key}: {d.stored} != {d.computed}" for d in differences]


async def assert_ledger_balances(db: Any) -> None:
    """Every member's balances row equals the sum of their ledger entries, none is negative,
    the lots hold exactly the available and pending points, and the entry count matches."""
    names = ("available", "pending", "held", "debt")
    async with db.connection() as conn:
        summed_rows = await conn.raw.fetch(_SUMMED_BALANCES)
        stored_rows = await conn.raw.fetch("SELECT * FROM balances")
        lot_rows = await conn.raw.fetch(
            "SELECT member_id, state, sum(remaining) AS points FROM lots GROUP BY 1, 2"
        )
        counts = dict(
            await conn.raw.fetch("SELECT member_id, count(*) FROM ledger_entries GROUP BY 1")
        )
    summed: dict[str, dict[str, int]] = {}
    for row in summed_rows:
        per = summed.setdefault(row["member_id"], dict.fromkeys(names, 0))
        per[row["name"]] += int(row["points"])
    lots: dict[str, dict[str, int]] = {}
    for row in lot_rows:
        lots.setdefault(row["member_id"], {})[row["state"]] = int(row["points"])
    stored = {row["member_id"]: row for row in stored_rows}
    assert set(summed) <= set(stored), f"entries without balances: {set(summed) - set(stored)}"
    for member_id, row in stored.items():
        expected = summed.get(member_id, dict.fromkeys(names, 0))
        actual = {name: int(row[name]) for name in names}
        assert actual == expected, f"{member_id}: balances {actual} != entries {expected}"
        assert min(actual.values()) >= 0, f"{member_id}: negative balance {actual}"
        in_lots = lots.get(member_id, {})
        for name in ("available", "pending"):
            assert in_lots.get(name, 0) == actual[name], f"{member_id}: lots {in_lots} {actual}"
        assert row["entries"] == counts.get(member_id, 0), f"{member_id}: entry count"


def catch_up(clock: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Move the test clock to the event's time if the event lies ahead of it: an event is
    posted when it happens, or later (the service refuses events from the future). Returns
    the body, to post."""
    from datetime import datetime

    at = datetime.fromisoformat(str(body["occurred_at"]).replace("Z", "+00:00"))
    if at > clock.now():
        clock.set(at)
    return body


TOKEN_SECRETS = "test-secret-one-0123456789abcdef,test-secret-old-0123456789abcdef"
"""The member-token secrets of every test app: the first signs, both verify (a rotation)."""

NO_RATE_LIMITS: dict[str, object] = {
    "api_key_cache_seconds": 60,
    "rate_limit_per_minute": 0,
    "rate_limit_events_per_minute": 0,
}
"""Overrides for tests that send thousands of requests (the fuzz tests): no rate limits, API
keys cached as in service."""


def app_settings(database_url: str, **overrides: object) -> Settings:
    """The settings every app under test runs with, on `database_url`; `overrides` replace
    single fields (a module changes them for all its tests with a `settings_overrides`
    fixture, see conftest.py). Background loops are off (tests run the worker and the
    webhook deliveries themselves), API keys are not cached, the loopback network may receive
    webhooks."""
    baseline: dict[str, object] = {
        "database_url": database_url,
        "token_secrets": TOKEN_SECRETS,
        "api_key_cache_seconds": 0,
        "db_pool_min": 1,
        "db_pool_max": 10,
        "worker_interval_seconds": 0,
        "webhook_interval_seconds": 0,
        "webhook_allow_networks": "127.0.0.0/8",
        "db_timeout_seconds": 30,
    }
    return load_settings({}, **{**baseline, **overrides})
