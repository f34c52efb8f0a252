"""HTTP conventions: problem documents naming the field, request ids, health and metrics."""

from __future__ import annotations

import asyncio
import logging

from helpers import bearer, purchase
from litestar.testing import AsyncTestClient

from service.active_ruleset import ActiveRuleset
from service.app import create_app
from service.runtime import Runtime
from service.worker import run_worker


async def test_malformed_body_is_400_naming_the_field(client, make_key):
    key = await make_key("members:write")
    response = await client.put("/v1/members/alice", json={"display_name": 42}, headers=bearer(key))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == "display_name"
    assert "Expected `str" in problem["errors"][0]["reason"]


async def test_unknown_field_is_400_naming_it(client, make_key):
    key = await make_key("members:write")
    response = await client.put(
        "/v1/members/alice", json={"dispaly_name": "A"}, headers=bearer(key)
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "dispaly_name"


async def test_invalid_json_is_400(client, make_key):
    key = await make_key("members:write")
    response = await client.put(
        "/v1/members/alice",
        content=b"{not json",
        headers={**bearer(key), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["status"] == 400


async def test_bad_time_zone_is_400_naming_timezone(client, make_key):
    key = await make_key("members:write")
    response = await client.put(
        "/v1/members/alice", json={"timezone": "Mars/Olympus"}, headers=bearer(key)
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "timezone", "reason": response.json()["detail"]}]


async def test_bad_member_id_in_path_is_400(client, make_key):
    key = await make_key("members:read")
    response = await client.get("/v1/members/bad%20id", headers=bearer(key))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "member_id"


async def test_unknown_route_is_404_problem(client):
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_request_id_is_echoed_or_made(client):
    echoed = await client.get("/health/live", headers={"X-Request-ID": "req-123"})
    assert echoed.headers["x-request-id"] == "req-123"
    made = await client.get("/health/live")
    assert len(made.headers["x-request-id"]) == 32


async def test_problem_carries_the_request_id(client):
    response = await client.get("/v1/me", headers={"X-Request-ID": "trace-me"})
    assert response.json()["request_id"] == "trace-me"


async def test_profile_update_keeps_omitted_fields_and_merges_attributes(client, make_key):
    key = await make_key("members:write", "members:read")
    first = {
        "display_name": "Alice",
        "timezone": "Europe/Berlin",
        "attributes": {"region": "north"},
    }
    assert (
        await client.put("/v1/members/alice", json=first, headers=bearer(key))
    ).status_code == 200
    second = {"birthday": "1990-03-14", "attributes": {"newsletter": True}}
    response = await client.put("/v1/members/alice", json=second, headers=bearer(key))
    body = response.json()
    assert body["display_name"] == "Alice"
    assert body["timezone"] == "Europe/Berlin"
    assert body["birthday"] == "1990-03-14"
    assert body["attributes"] == {"region": "north", "newsletter": True}


async def test_health_live_and_ready(client):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"


async def test_metrics_count_a_request(client):
    await client.get("/health/live")
    await client.get("/v1/members/alice")
    text = (await client.get("/metrics")).text
    assert 'loyalty_http_requests_total{method="GET",route="/health/live",status="200"} 1.0' in text
    assert 'route="/v1/members/{member_id}",status="401"} 1.0' in text
    assert "loyalty_http_request_duration_seconds_bucket" in text
    assert "loyalty_db_pool_max_connections 10.0" in text


async def test_body_over_the_limit_is_413(client, make_key):
    key = await make_key("members:write")
    huge = {"attributes": {"note": "x" * 1_100_000}}
    response = await client.put("/v1/members/alice", json=huge, headers=bearer(key))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_no_active_ruleset_is_503_not_500(settings, clock, make_key):
    """A service started with nothing published answers 503 with what to do, not a 500."""
    app = create_app(settings, clock=clock, publish_rules_dir=False)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        key = await make_key("events:write")
        body = purchase("e1", "alice", "10")
        response = await client.post("/v1/events", json=body, headers=bearer(key))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "no_active_ruleset"
    assert "loyalty rules publish" in response.json()["detail"]


async def test_with_no_active_ruleset_ready_is_503_with_the_reason(settings, clock):
    app = create_app(settings, clock=clock, publish_rules_dir=False)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert (body["status"], body["database"]) == ("unavailable", "ok")
    assert "no ruleset is active" in body["reason"] and "loyalty rules publish" in body["reason"]


async def test_the_worker_waits_for_a_ruleset_without_a_traceback_every_pass(
    settings, clock, db, caplog
):
    """Passes with no ruleset active say so once, as a warning; no traceback every pass."""
    runtime = Runtime(db=db, clock=clock, rules=ActiveRuleset(db))  # nothing published
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="service.worker"):
        task = asyncio.create_task(run_worker(runtime, 0.01, stop))
        await asyncio.sleep(0.3)  # many passes
        stop.set()
        await task
    records = [r for r in caplog.records if r.name == "service.worker"]
    assert [r.levelname for r in records] == ["WARNING"]
    assert records[0].exc_info is None
    assert "no ruleset is active" in records[0].getMessage()
