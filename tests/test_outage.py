"""A database outage: 503 problem documents, never a hang or a 500; readiness goes red; the
service serves again within seconds of the database coming back, without a restart; nothing
acknowledged is lost."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest
from helpers import bearer
from processes import ServiceProcess, free_port
from test_crash import EARN, PROGRAM

from service.auth import generate_key
from service.store import keys as key_store
from service.store.database import Database
from service.store.embedded import EmbeddedPostgres, scratch_folder
from service.store.migrate import migrate


def _purchase(i: int) -> dict:
    return {
        "id": f"outage-{i}",
        "type": "purchase",
        "member_id": f"m{i % 7}",
        "occurred_at": "2026-03-02T08:00:00Z",
        "attributes": {"order_id": f"o-{i}", "amount": "10", "currency": "EUR", "items": []},
    }


@pytest.mark.slow
async def test_database_outage_answers_503_and_recovers_without_restart(tmp_path):
    # durable: an immediate stop must not lose commits the service acknowledged
    server = EmbeddedPostgres(scratch_folder("loyalty-outage-"), durable=True, port=free_port())
    url = await asyncio.to_thread(server.acquire, "loyalty")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "program.yaml").write_text(PROGRAM)
    (rules / "earn.yaml").write_text(EARN)
    await asyncio.to_thread(migrate, url)
    issued = generate_key("checkout", ["events:write"])
    db = Database(url, min_size=0, max_size=2)
    await db.open()
    async with db.transaction() as conn:
        await key_store.insert_key(
            conn,
            key_id=issued.key_id,
            name=issued.name,
            secret_hash=issued.secret_hash,
            scopes=issued.scopes,
        )
    await db.close()
    service = ServiceProcess(
        {
            "DATABASE_URL": url,
            "LOYALTY_RULES_DIR": str(rules),
            "LOYALTY_TOKEN_SECRETS": "outage-test-secret-0123456789abcdef",
            "LOYALTY_DB_TIMEOUT_SECONDS": "2",
            "LOYALTY_LOG_LEVEL": "WARNING",
        },
        log=tmp_path / "serve.log",
    )
    await asyncio.to_thread(service.start)
    acked: set[str] = set()
    statuses: list[int] = []
    slowest = 0.0
    counter = 0
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=10) as http:

            async def post_one() -> int:
                nonlocal counter, slowest
                counter += 1
                event = _purchase(counter)
                started = time.monotonic()
                response = await http.post("/v1/events", json=event, headers=bearer(issued.token))
                slowest = max(slowest, time.monotonic() - started)
                statuses.append(response.status_code)
                if response.status_code in (200, 201):
                    acked.add(event["id"])
                else:
                    assert response.status_code == 503, response.text
                    assert response.headers["content-type"].startswith("application/problem+json")
                return response.status_code

            for _ in range(20):
                assert await post_one() == 201
            await asyncio.to_thread(server.stop, "immediate")
            outage_statuses = await asyncio.gather(*(post_one() for _ in range(20)))
            assert set(outage_statuses) == {503}
            ready = await http.get("/health/ready")
            assert ready.status_code == 503
            assert slowest < 2 * 2 + 1, f"a request hung for {slowest:.1f} s"
            await asyncio.to_thread(server.start)
            back = time.monotonic()
            while True:
                if await post_one() in (200, 201):
                    break
                assert time.monotonic() - back < 5, "not serving 5 s after the database returned"
                await asyncio.sleep(0.1)
            assert (await http.get("/health/ready")).status_code == 200
            for _ in range(10):
                assert await post_one() == 201
    finally:
        service.stop()
    assert 500 not in statuses
    conn = await asyncpg.connect(url)  # SQL on purpose: what survived the outage, as stored
    try:
        stored = {row["event_id"] for row in await conn.fetch("SELECT event_id FROM events")}
    finally:
        await conn.close()
        await asyncio.to_thread(server.release)
    assert acked <= stored, f"acknowledged but lost: {sorted(acked - stored)}"
