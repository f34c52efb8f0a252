"""Every operation of openapi/openapi.json, sent as a valid request with one field pushed to a
boundary: huge and tiny numbers, long and odd strings, dates at the edges of the calendar,
unicode digits, other JSON types, and duplicate keys. Each answer is below 500 (a refusal is a
problem document), and after each round the member still accepts a normal purchase and the
ledger verifies.

Sibling of tests/test_fuzz.py (schemathesis draws from the schema) and tests/test_edges_fuzz.py
(dates and amounts on the routes that take them): this one starts from requests that work, so
every mutation reaches the code behind the first check. ROUTE_FUZZ_EXAMPLES bounds the rounds
(default 25, about 5 s).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import pytest
from helpers import NO_RATE_LIMITS, bearer, ledger_problems, member_token, purchase
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from service.auth import SCOPES
from service.engine.loader import ruleset_version

OPENAPI = Path(__file__).parents[1] / "openapi" / "openapi.json"
RULES = Path(__file__).parents[1] / "rules"
EXAMPLES = int(os.environ.get("ROUTE_FUZZ_EXAMPLES", "25"))
MEMBER = "fuzz"
BOARD = "monthly-points-by-region"


class Raw(NamedTuple):
    """JSON text sent as it is (numbers Python cannot print, deep nesting)."""

    text: str


class Call(NamedTuple):
    """A request that succeeds as written."""

    path: dict[str, str] = {}
    query: dict[str, Any] = {}
    body: Any = None
    as_member: bool = False
    idempotent: bool = False


def _valid_calls(
    n: int, hold: str, other_hold: str, endpoint: str = "we_0000000000000000"
) -> dict[tuple[str, str], Call]:
    files = {p.name: p.read_text() for p in sorted(RULES.glob("*.yaml"))}
    event = purchase(f"f{n}", MEMBER, "12.50")
    me, board = {"member_id": MEMBER}, {"board": BOARD}
    segment = {"period": "current", "segment": "north"}
    pages = {"limit": 10}
    version = ruleset_version(files)  # the demo program, active in every round
    short = {"version": version[:16]}
    return {
        ("GET", "/health/live"): Call(),
        ("GET", "/health/ready"): Call(),
        ("GET", "/metrics"): Call(),
        ("POST", "/v1/admin/adjustments"): Call(
            body={"member_id": MEMBER, "points": 5, "reason": "goodwill"}, idempotent=True
        ),
        ("GET", "/v1/admin/rules"): Call(),
        ("POST", "/v1/admin/rules"): Call(body={"files": files}),
        ("POST", "/v1/admin/rules/dry-run"): Call(body={"event": event, "member_id": MEMBER}),
        ("GET", "/v1/admin/rules/versions"): Call(query=pages),
        ("GET", "/v1/admin/rules/versions/{version}"): Call(short),
        ("GET", "/v1/admin/rules/versions/{a}/diff/{b}"): Call({"a": version, "b": version[:8]}),
        ("POST", "/v1/admin/rules/versions/{version}/rollback"): Call(short),
        ("POST", "/v1/admin/rules/backtests"): Call(body={"files": files, "members": 1}),
        ("GET", "/v1/admin/rules/backtests/{backtest_id}"): Call({"backtest_id": "bt-none"}),
        # the demo declares no experiment: these answer 404 naming it (a valid call all the same)
        ("GET", "/v1/admin/experiments/{experiment_id}/report"): Call(
            {"experiment_id": "welcome-2026"}, {"window_days": 60}
        ),
        ("GET", "/v1/admin/experiments/{experiment_id}/members/{member_id}"): Call(
            {"experiment_id": "welcome-2026", **me}
        ),
        ("GET", "/v1/admin/reports/liability"): Call(),
        ("GET", "/v1/admin/reports/breakage"): Call(query={"months": 6}),
        ("GET", "/v1/admin/reports/points"): Call(
            query={"since": "2026-01-01", "until": "2026-03-31"}
        ),
        ("GET", "/v1/admin/reports/tiers"): Call(query={"months": 3}),
        ("GET", "/v1/admin/reports/engagement-levels"): Call(
            query={"since": "2026-01-01", "until": "2026-03-31"}
        ),
        ("GET", "/v1/admin/reports/active-members"): Call(
            query={"since": "2026-01-01", "until": "2026-03-31"}
        ),
        ("GET", "/v1/admin/reports/cohorts"): Call(query={"weeks": 8}),
        ("GET", "/v1/admin/reports/purchases"): Call(
            query={"since": "2026-01-01", "until": "2026-03-31"}
        ),
        ("GET", "/v1/admin/reports/top-members"): Call(query={"limit": 5}),
        ("GET", "/v1/admin/reports/experiments"): Call(),
        ("POST", "/v1/events"): Call(body=event),
        ("POST", "/v1/events/batch"): Call(
            body={"events": [purchase(f"b{n}", MEMBER, "3"), purchase(f"c{n}", "other", "4")]}
        ),
        ("GET", "/v1/leaderboards/{board}"): Call(board, {**segment, **pages}),
        ("GET", "/v1/leaderboards/{board}/members/{member_id}"): Call({**board, **me}, segment),
        ("GET", "/v1/me"): Call(as_member=True),
        ("GET", "/v1/me/badges"): Call(as_member=True),
        ("GET", "/v1/me/challenges"): Call(as_member=True),
        ("GET", "/v1/me/leaderboards/{board}"): Call(board, segment, as_member=True),
        ("GET", "/v1/me/ledger"): Call(query=pages, as_member=True),
        ("GET", "/v1/me/redemptions"): Call(query=pages, as_member=True),
        ("GET", "/v1/me/referral"): Call(as_member=True),
        ("GET", "/v1/members/{member_id}"): Call(me),
        ("PUT", "/v1/members/{member_id}"): Call(
            me,
            body={
                "display_name": "Fuzz",
                "timezone": "Europe/Berlin",
                "birthday": "1990-05-17",
                "hidden": False,
                "attributes": {"region": "north", "newsletter": True},
            },
        ),
        ("GET", "/v1/members/{member_id}/badges"): Call(me),
        ("GET", "/v1/members/{member_id}/challenges"): Call(me),
        ("GET", "/v1/members/{member_id}/ledger"): Call(me, pages),
        ("GET", "/v1/members/{member_id}/redemptions"): Call(me, pages),
        ("POST", "/v1/members/{member_id}/redemptions"): Call(
            me, body={"points": 1, "reference": f"order-{n}", "hold": False}, idempotent=True
        ),
        ("GET", "/v1/members/{member_id}/referral"): Call(me),
        ("POST", "/v1/members/{member_id}/tokens"): Call(me),
        ("POST", "/v1/redemptions/{redemption_id}/cancel"): Call({"redemption_id": hold}),
        ("POST", "/v1/redemptions/{redemption_id}/commit"): Call({"redemption_id": other_hold}),
        ("GET", "/v1/rewards"): Call(),
        ("GET", "/v1/members"): Call(
            query={"id_prefix": "fu", "attribute": "region", "value": "north", "limit": 10}
        ),
        ("GET", "/v1/members/{member_id}/events/{event_id}"): Call({**me, "event_id": "seed"}),
        ("GET", "/v1/members/{member_id}/catalog"): Call(me),
        ("GET", "/v1/me/catalog"): Call(as_member=True),
        ("GET", "/v1/redemptions/{redemption_id}"): Call({"redemption_id": hold}),
        ("GET", "/v1/leaderboards"): Call(),
        ("POST", "/v1/admin/keys"): Call(body={"name": f"fuzz-{n}", "scopes": ["members:read"]}),
        ("GET", "/v1/admin/keys"): Call(),
        ("DELETE", "/v1/admin/keys/{key_id}"): Call({"key_id": "000000000000"}),
        ("GET", "/v1/admin/audit"): Call(query=pages),
        # last: the batch above made "other" (again) this round
        ("DELETE", "/v1/members/{member_id}"): Call({"member_id": "other"}),
        **_webhook_calls(endpoint),
    }


def _webhook_calls(endpoint: str) -> dict[tuple[str, str], Call]:
    """The webhook routes on this round's endpoint, deleted last."""
    one = {"endpoint_id": endpoint}
    base = "/v1/admin/webhooks/endpoints"
    hook = {"url": "http://127.0.0.1:9/hooks", "kinds": ["points.earned", "tier.changed"]}
    return {
        ("POST", base): Call(body={**hook, "description": "fuzz", "expiring_days": 3}),
        ("GET", base): Call(),
        ("GET", base + "/{endpoint_id}"): Call(one),
        ("PATCH", base + "/{endpoint_id}"): Call(one, body={"at_risk_hours": 2, **hook}),
        ("POST", base + "/{endpoint_id}/pause"): Call(one),
        ("POST", base + "/{endpoint_id}/resume"): Call(one),
        ("POST", base + "/{endpoint_id}/secret"): Call(one, body={"overlap_seconds": 60}),
        ("GET", base + "/{endpoint_id}/deliveries"): Call(one, {"status": "dead", "limit": 5}),
        ("POST", base + "/{endpoint_id}/deliveries/{message_id}/redeliver"): Call(
            {**one, "message_id": "msg_" + "0" * 26}
        ),
        ("POST", base + "/{endpoint_id}/dead-letters/redeliver"): Call(one),
        ("DELETE", base + "/{endpoint_id}"): Call(one),
    }


def _operations() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Each documented operation and its (in, name) parameters, Idempotency-Key aside."""
    document = json.loads(OPENAPI.read_text())
    return {
        (method.upper(), path): [
            (p["in"], p["name"]) for p in operation.get("parameters", []) if p["in"] != "header"
        ]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


OPERATIONS = _operations()

# -- boundary values -----------------------------------------------------------------------------

_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
dates = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets
    ).map(lambda d: d.isoformat()),
    st.dates().map(str),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01",
            "9999-12-31",
            "1970-01-01T00:00:00Z",
            "2026-03-03T09:00:01Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01",
            "2026-03-02T24:00:00Z",
            "2026-03-02T08:00:00",
            "2026-W53",
            "2026-00",
            "current",
            "all",
        ]
    ),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63) - 1, 2**64, 10**30, 1e308, 5e-324, -0.0]),
    st.sampled_from([Raw("1" + "0" * 5000), Raw("1e999"), Raw("-1e-999"), Raw("1.00000000001")]),
)
strings = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            " ",
            "\n",
            "alice\n",
            "A" * 129,
            "A" * 10_000,
            "\x00",
            "\u202e",
            "\U0001f600" * 100,
            "\u0661\u0662\u0663",
            "\uff11\uff12",
            "12.50",
            "-0",
            "1e400",
            "NaN",
            "Infinity",
            "null",
            "../../etc/passwd",
            "%00",
            "'; DROP TABLE members; --",
        ]
    ),
)
shapes = st.sampled_from(
    [None, True, False, [], {}, [1] * 1000, {"a": "b"}, Raw("[" * 300 + "]" * 300)]
)
values = st.one_of(numbers, strings, dates, shapes)


# -- requests ------------------------------------------------------------------------------------


def _dump(value: Any, twice: tuple[tuple[Any, ...], str, Any] | None = None, at=()) -> str:
    """JSON text of `value`; `twice` = (path, key, value) adds a second `key` to that object."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        pairs = [f"{json.dumps(k)}: {_dump(v, twice, (*at, k))}" for k, v in value.items()]
        if twice is not None and twice[0] == at:
            pairs.append(f"{json.dumps(twice[1])}: {_dump(twice[2])}")
        return "{" + ", ".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump(v, twice, (*at, i)) for i, v in enumerate(value)) + "]"
    return json.dumps(value)


def _slots(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a body a value can be put: each member, item and container."""
    found = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _slots(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _slots(v, (*at, i))
    return found


def _objects(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [slot for slot in _slots(value, at) if isinstance(_at(value, slot), dict)]


def _at(value: Any, slot: tuple[Any, ...]) -> Any:
    for step in slot:
        value = value[step]
    return value


def _replace(value: Any, slot: tuple[Any, ...], new: Any) -> Any:
    if not slot:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[slot[0]] = _replace(value[slot[0]], slot[1:], new)
    return copy


def _as_text(value: Any) -> str:
    return (
        value.text if isinstance(value, Raw) else value if isinstance(value, str) else _dump(value)
    )


class Mutation(NamedTuple):
    where: str  # "path", "query", "body" or "twice"
    index: int
    value: Any


mutations = st.builds(
    Mutation,
    st.sampled_from(["path", "query", "body", "body", "twice"]),
    st.integers(0, 10**6),
    values,
)


def _mutated(operation: tuple[str, str], call: Call, mutation: Mutation):
    """(url, query, body text) of `call` with the mutation applied where it can be."""
    path_params, query = dict(call.path), dict(call.query)
    names = OPERATIONS[operation]
    twice = None
    body = call.body
    where = mutation.where
    if where == "path" and call.path:
        name = sorted(call.path)[mutation.index % len(call.path)]
        path_params[name] = _as_text(mutation.value)
    elif where == "query" and any(kind == "query" for kind, _ in names):
        named = [n for kind, n in names if kind == "query"]
        name = named[mutation.index % len(named)]
        query[name] = _as_text(mutation.value)
    elif where == "body" and body is not None:
        slots = _slots(body)
        body = _replace(body, slots[mutation.index % len(slots)], mutation.value)
    elif where == "twice" and body is not None:
        objects = _objects(body)
        slot = objects[mutation.index % len(objects)]
        keys = list(_at(body, slot)) or ["extra"]
        twice = (slot, keys[mutation.index % len(keys)], mutation.value)
    url = operation[1]
    for name, value in path_params.items():
        url = url.replace(f"{{{name}}}", quote(value, safe=""))
    return url, query, None if body is None else _dump(body, twice)


# -- the test ------------------------------------------------------------------------------------


@pytest.fixture
def settings_overrides():
    return NO_RATE_LIMITS


class Round:
    """What every round of the fuzz test shares: credentials and a counter for fresh ids."""

    def __init__(self, key: str, token: str) -> None:
        self.key, self.token, self.n = key, token, 0


@pytest.fixture
async def fuzz_round(client, make_key):
    key = await make_key(*SCOPES)
    member = {"attributes": {"region": "north"}}
    assert (await client.put(f"/v1/members/{MEMBER}", json=member, headers=bearer(key))).is_success
    first = purchase("seed", MEMBER, "500")
    assert (await client.post("/v1/events", json=first, headers=bearer(key))).status_code == 201
    return Round(key, await member_token(client, key, MEMBER))


async def _top_up(client, key: str, n: int) -> None:
    """Points to spend this round (the last one's mutations may have spent them all)."""
    answer = await client.post(
        "/v1/admin/adjustments",
        json={"member_id": MEMBER, "points": 1000, "reason": "fuzz round"},
        headers={**bearer(key), "Idempotency-Key": f"top-up-{n}"},
    )
    assert answer.status_code == 201, answer.text


async def _endpoint(client, key: str) -> str:
    """A webhook endpoint for this round's calls (they delete it at the end)."""
    answer = await client.post(
        "/v1/admin/webhooks/endpoints",
        json={"url": "http://127.0.0.1:9/hooks", "kinds": ["points.earned"]},
        headers=bearer(key),
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["endpoint_id"])


async def _hold(client, key: str, n: int, k: str) -> str:
    answer = await client.post(
        f"/v1/members/{MEMBER}/redemptions",
        json={"points": 1, "hold": True},
        headers={**bearer(key), "Idempotency-Key": f"hold-{n}-{k}"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _duplicate(answer) -> bool:
    """Refused as a duplicate, or before the check (a number msgspec cannot hold is 400)."""
    return answer.status_code == 400 and answer.json().get("code") in ("duplicate_key", None)


def test_every_documented_operation_has_a_valid_call():
    assert set(_valid_calls(0, "h", "h")) == set(OPERATIONS)


@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.fixed_dictionaries({operation: mutations for operation in sorted(OPERATIONS)}))
# The fuzz changes the member's region between events (a leaderboard segment): profiles keep no
# history, so a replay, reading today's profile, files those scores under today's region.
@pytest.mark.no_replay
async def test_boundary_values_on_every_route_leave_the_member_usable(client, db, fuzz_round, plan):
    state = fuzz_round
    state.n += 1
    n = state.n
    await _top_up(client, state.key, n)
    holds = [await _hold(client, state.key, n, k) for k in ("a", "b")]
    calls = _valid_calls(n, *holds, await _endpoint(client, state.key))
    failures: list[str] = []
    for operation, call in calls.items():
        url, query, text = _mutated(operation, call, plan[operation])
        headers = bearer(state.token if call.as_member else state.key)
        if call.idempotent:
            headers["Idempotency-Key"] = f"k{n}-{operation[1][:20]}"
        if text is not None:
            headers["Content-Type"] = "application/json"
        answer = await client.request(
            operation[0], url, params=query, headers=headers, content=text
        )
        where = f"{operation[0]} {url} {query} {plan[operation]!r:.300} {(text or '')[:200]}"
        if answer.status_code >= 500:
            failures.append(f"{where}: {answer.status_code} {answer.text[:300]}")
        elif answer.status_code >= 400 and not answer.headers["content-type"].startswith(
            "application/problem+json"
        ):
            failures.append(f"{where}: {answer.status_code} as {answer.headers['content-type']}")
        elif plan[operation].where == "twice" and text is not None and not _duplicate(answer):
            failures.append(f"{where}: a duplicate key answered {answer.status_code}")
    assert not failures, "\n".join(failures)
    normal = purchase(f"normal-{n}", MEMBER, "10")
    answer = await client.post("/v1/events", json=normal, headers=bearer(state.key))
    assert answer.status_code == 201, answer.text
    assert (await client.get(f"/v1/members/{MEMBER}", headers=bearer(state.key))).is_success
    assert not await ledger_problems(db)
