"""Webhooks with the service as users run it: `loyalty serve` killed with SIGKILL after
committing and before delivering, and again in the middle of delivering, loses no message;
and the `loyalty webhooks` commands."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from builders import webhook_endpoints
from helpers import bearer, loyalty, purchase
from processes import ServiceProcess
from webhook_receiver import Receiver

RULES = Path(__file__).parents[1] / "rules"


def _service(database_url: str, tmp_path: Path, interval: str) -> ServiceProcess:
    return ServiceProcess(
        {
            "DATABASE_URL": database_url,
            "LOYALTY_RULES_DIR": str(RULES),
            "LOYALTY_TOKEN_SECRETS": "webhook-crash-secret-0123456789abcdef",
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "LOYALTY_WEBHOOK_INTERVAL_SECONDS": interval,
            "LOYALTY_WEBHOOK_BATCH": "20",
            "LOYALTY_RATE_LIMIT_PER_MINUTE": "0",
            "LOYALTY_RATE_LIMIT_EVENTS_PER_MINUTE": "0",
        },
        log=tmp_path / "serve.log",
    )


async def _post_all(http: httpx.AsyncClient, key: str, events: list[dict]) -> set[str]:
    """Post every event (retrying what was cut off) until each is acknowledged."""
    acked: set[str] = set()
    deadline = time.monotonic() + 90  # the service may be restarting
    while time.monotonic() < deadline:
        for event in events:
            if event["id"] in acked:
                continue
            try:
                response = await http.post("/v1/events", json=event, headers=bearer(key))
            except httpx.HTTPError:
                continue
            if response.status_code in (200, 201):
                acked.add(event["id"])
        if len(acked) == len(events):
            return acked
        await asyncio.sleep(0.2)
    raise AssertionError("events were not acknowledged")


async def _wait_for(receiver: Receiver, ids: set[str], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = {m["data"]["event_id"] for m in receiver.accepted if m["type"] == "points.earned"}
        if ids <= got:
            return
        await asyncio.sleep(0.1)
    missing = ids - {m["data"]["event_id"] for m in receiver.accepted}
    raise AssertionError(f"{len(missing)} messages never arrived: {sorted(missing)[:10]}")


async def _stored_order(db) -> dict[str, list[str]]:
    """Each member's messages in the order committed. SQL on purpose: the outbox table itself,
    as the killed processes left it."""
    async with db.connection() as conn:
        rows = await conn.raw.fetch(
            "SELECT member_id, message_id FROM webhook_messages ORDER BY seq"
        )
    order: dict[str, list[str]] = {}
    for r in rows:
        order.setdefault(r["member_id"], []).append(r["message_id"])
    return order


@pytest.mark.slow
async def test_sigkill_between_commit_and_delivery_and_during_delivery_loses_nothing(
    tmp_path, database_url, make_key, db
):
    key = await make_key("admin")
    receiver = Receiver()
    await receiver.start()
    quiet = _service(database_url, tmp_path, "0")  # commits, never delivers
    await asyncio.to_thread(quiet.start)
    try:
        async with httpx.AsyncClient(base_url=quiet.url, timeout=10) as http:
            created = await http.post(
                "/v1/admin/webhooks/endpoints",
                json={"url": receiver.url, "kinds": ["points.earned"]},
                headers=bearer(key),
            )
            assert created.status_code == 201, created.text
            receiver.secrets.append(created.json()["secret"])
            first = [purchase(f"a{i}", f"m{i % 7}", f"{10 + i}.00") for i in range(60)]
            acked = await _post_all(http, key, first)
    finally:
        quiet.kill()  # committed, acknowledged, not one delivered
    assert receiver.accepted == []

    receiver.delay = 0.05  # deliveries take a while: the next kills land in the middle
    service = _service(database_url, tmp_path, "0.05")
    await asyncio.to_thread(service.start)
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            second = [purchase(f"b{i}", f"m{i % 7}", f"{10 + i}.00") for i in range(60)]
            posting = asyncio.create_task(_post_all(http, key, second))
            for _ in range(2):
                await asyncio.sleep(1.0)
                service.kill()
                await asyncio.to_thread(service.start)
            acked |= await posting
        assert len(receiver.accepted) > 0, "nothing was delivered before the kills"
        await _wait_for(receiver, acked)
    finally:
        service.stop()
        await receiver.stop()
    assert receiver.bad_signatures == 0
    stored = await _stored_order(db)
    got = {member: [m["id"] for m in ms] for member, ms in receiver.by_member().items()}
    assert got == stored  # every member's in the order committed, each at least once
    print(f"{len(receiver.accepted)} accepted for {len(acked)} messages (at least once)")


async def _loyalty(
    database_url: str, tmp_path: Path, *args: str, status: int = 0
) -> tuple[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "LOYALTY_RULES_DIR": str(RULES),
        "LOYALTY_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    }
    return await loyalty(*args, env=env, cwd=tmp_path, status=status)


async def test_the_webhooks_commands_manage_an_endpoint(client, database_url, tmp_path, db):
    out, err = await _loyalty(
        database_url,
        tmp_path,
        "webhooks",
        "create",
        "http://127.0.0.1:9/hooks",
        "--kinds",
        "points.earned,tier.changed",
        "--description",
        "CRM",
    )
    assert '"secret": "whsec_' in out and "shown once" in out
    [endpoint] = await webhook_endpoints(db)
    endpoint_id = endpoint["endpoint_id"]
    out, err = await _loyalty(database_url, tmp_path, "webhooks", "list")
    assert out.startswith(f"{endpoint_id}\tactive\thttp://127.0.0.1:9/hooks\t")
    for command, expected in (("pause", "paused"), ("resume", "active")):
        out, err = await _loyalty(database_url, tmp_path, "webhooks", command, endpoint_id)
        assert out.strip() == f"{endpoint_id}\t{expected}", err
    out, err = await _loyalty(
        database_url, tmp_path, "webhooks", "update", endpoint_id, "--kinds", "badge.awarded"
    )
    assert '"badge.awarded"' in out, err
    out, err = await _loyalty(database_url, tmp_path, "webhooks", "rotate-secret", endpoint_id)
    assert '"secret": "whsec_' in out, err
    out, err = await _loyalty(database_url, tmp_path, "webhooks", "deliveries", endpoint_id)
    assert out == "", err
    out, err = await _loyalty(database_url, tmp_path, "webhooks", "redeliver", endpoint_id)
    assert out.strip() == "redelivered 0", err
    out, err = await _loyalty(
        database_url,
        tmp_path,
        "webhooks",
        "create",
        "http://10.0.0.1/x",
        "--kinds",
        "tier.changed",
        status=1,
    )
    assert "error: url: the host '10.0.0.1' resolves to 10.0.0.1" in err
    out, err = await _loyalty(database_url, tmp_path, "webhooks", "delete", endpoint_id)
    assert out.strip() == f"deleted {endpoint_id}", err
    out, err = await _loyalty(database_url, tmp_path, "webhooks", "delete", endpoint_id, status=1)
    assert "error: endpoint_id: no webhook endpoint" in err
