"""Dates at the edges of the calendar in any offset, amounts of every odd shape, huge and tiny
numbers and odd strings, sent through every route that takes a date or an amount: only 2xx or
a 4xx problem document, never a 5xx, and the member still accepts a normal event afterwards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from databases import FreshProgram
from helpers import purchase
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.core.clock import FixedClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RAISE = False

offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets),
    st.sampled_from(
        [
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            START + timedelta(hours=23, minutes=59),
            START + timedelta(hours=24, seconds=1),
            datetime(2000, 1, 1, tzinfo=UTC) - timedelta(microseconds=1),
        ]
    ),
)
texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "\n", "alice\n", "A" * 2000, "\u0000", "١٢٣", "1e400", "NaN"]),
)
amounts: Any = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.sampled_from(
        [
            "12345678901234.5678",
            "999999999999.9999",
            "-5",
            "0",
            "0.00001",
            " 12.50",
            "١٢",
            "1e3",
            "Infinity",
            "NaN",
            "--1",
        ]
    ),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.booleans(),
    st.none(),
)
points = st.one_of(st.integers(-(2**65), 2**65), st.sampled_from([0, 1, 10**9, "1", 1.5]))


async def _probe(
    path: FreshProgram, at: datetime, amount: Any, birthday: Any, spend: Any, name: Any
) -> None:
    app = create_app(path.settings, clock=FixedClock(START))
    async with AsyncTestClient(app=app, raise_server_exceptions=RAISE) as client:
        await path.publish(client)
        auth = path.auth
        event = purchase("e1", "edge", "10", occurred_at=at.isoformat())
        event["attributes"]["amount"] = amount
        event["attributes"]["items"][0]["price"] = amount
        calls = [
            ("POST", "/v1/events", event),
            ("POST", "/v1/events/batch", {"events": [event, purchase("e2", "edge", "5")]}),
            ("POST", "/v1/admin/rules/dry-run", {"event": event, "member_id": "edge"}),
            (
                "POST",
                "/v1/admin/rules/dry-run",
                {
                    "event": event,
                    "member": {"counters": {"last_purchase_at": at.isoformat(), "purchases": 3}},
                },
            ),
            ("PUT", "/v1/members/edge", {"birthday": birthday, "display_name": name}),
            ("PUT", "/v1/members/edge", {"attributes": {"region": name, "newsletter": amount}}),
            (
                "POST",
                "/v1/events",
                {
                    "id": "r1",
                    "type": "refund",
                    "member_id": "edge",
                    "occurred_at": at.isoformat(),
                    "attributes": {"order_id": "order-e2", "amount": amount},
                },
            ),
            (
                "POST",
                "/v1/admin/adjustments",
                {"member_id": "edge", "points": spend, "reason": "x" * 5},
            ),
            ("POST", "/v1/members/edge/redemptions", {"points": spend}),
            ("POST", "/v1/members/edge/redemptions", {"points": spend, "hold": True}),
        ]
        for n, (method, url, body) in enumerate(calls):
            headers = {**auth, "Idempotency-Key": f"k{n}"}
            answer = await client.request(method, url, json=body, headers=headers)
            assert answer.status_code < 500, (method, url, body, answer.text, at, amount, spend)
            if answer.status_code >= 400:
                assert answer.headers["content-type"].startswith("application/problem+json")
        normal = purchase("after", "edge", "10")
        answer = await client.post("/v1/events", json=normal, headers=auth)
        assert answer.status_code == 201, answer.text


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    at=instants,
    amount=amounts,
    birthday=st.one_of(st.dates().map(str), texts),
    spend=points,
    name=texts,
)
def test_edge_values_on_every_route_with_a_date_or_an_amount(
    pg_admin_url, template_db, at, amount, birthday, spend, name
):
    async def run() -> None:
        async with FreshProgram(pg_admin_url, template_db, members=["edge"]) as path:
            await _probe(path, at, amount, birthday, spend, name)

    asyncio.run(run())
