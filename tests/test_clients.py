"""The typed clients: generated from the committed OpenAPI document (a test fails while either
is stale), and each runs the app's main flow and the checkout's against a running service.

The TypeScript client's packages are the ones pinned in clients/typescript/package-lock.json,
installed with `npm ci` (by `.ci/run`, or here when they are missing)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import purchase, refund

from clients.generate import (
    PYTHON_OUT,
    TYPESCRIPT_DIR,
    TYPESCRIPT_OPERATIONS,
    TYPESCRIPT_OUT,
    ensure_node_modules,
    python_client,
    typescript_operations,
    typescript_schema,
)

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = json.loads((ROOT / "openapi" / "openapi.json").read_text())
sys.path.insert(0, str(ROOT / "clients" / "python"))

from loyalty_client import LoyaltyClient, LoyaltyError  # noqa: E402


def test_python_client_is_generated_from_the_committed_document():
    assert PYTHON_OUT.read_text() == python_client(DOCUMENT), (
        "clients/python is stale: run `python -m clients.generate` and commit it"
    )


def test_typescript_types_are_generated_from_the_committed_document():
    assert TYPESCRIPT_OUT.read_text() == typescript_schema(), (
        "clients/typescript is stale: run `python -m clients.generate` and commit it"
    )
    assert TYPESCRIPT_OPERATIONS.read_text() == typescript_operations(DOCUMENT), (
        "clients/typescript/src/operations.ts is stale: run `python -m clients.generate`"
    )


def test_python_client_type_checks_strictly():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            os.devnull,
            "-p",
            "loyalty_client",
        ],
        cwd=ROOT / "clients" / "python",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _app_and_checkout_flow(base_url: str, key: str, now: str) -> dict[str, object]:
    """What a shop back end and an app do, through the Python client."""
    with LoyaltyClient(base_url, key) as server:
        server.post_adjustment(body={"member_id": "py-ann", "points": 1000, "reason": "welcome"})
        shop = purchase("py-p0", "py-ann", "10.00", occurred_at=now)
        server.post_event(body=shop)  # type: ignore[arg-type]
        token = server.mint_member_token("py-ann")["token"]
        with LoyaltyClient(base_url, token) as app:
            me = app.get_me()
            assert me["member_id"] == "py-ann" and me["balances"]["available"] == 1000
            rewards = app.list_rewards()["rewards"]
            shipping = next(r for r in rewards if r["id"] == "free-shipping")
            redeemed = app.redeem(
                "py-ann",
                body={"reward_id": "free-shipping", "hold": False},
                idempotency_key="py-ann-r1",
            )
            assert redeemed["status"] == "committed" and redeemed["points"] == shipping["cost"]
            standing = app.get_my_standing("weekly-points")
            with pytest.raises(LoyaltyError) as refused:
                app.get_member("someone-else")
            assert refused.value.status == 403
        body = purchase("py-p1", "py-buyer", "80.00", occurred_at=now, order_id="py-o1")
        first = server.post_event(body=body)  # type: ignore[arg-type]
        again = server.post_event(body=body)  # type: ignore[arg-type]
        assert first["earned"] > 0 and not first["replay"]
        assert again["replay"] and again["earned"] == first["earned"]
        back = server.post_event(body=refund("py-f1", "py-buyer", "py-o1", "20.00", now))  # type: ignore[arg-type]
        assert back["reversed"] == first["earned"] // 4
        with pytest.raises(LoyaltyError) as bad:
            server.post_event(body={**body, "id": ""})  # type: ignore[typeddict-item]
        assert bad.value.status == 400 and bad.value.field == "id"
        found = server.search_members(id_prefix="py-")["members"]
        assert [m["member_id"] for m in found] == ["py-ann", "py-buyer"]
    return {"rank": standing["rank"], "reversed": back["reversed"]}


async def test_python_client_runs_the_app_and_checkout_flows(live_app, make_key, clock):
    server = await live_app()
    key = await make_key("admin", name="shop-backend")
    # the client is synchronous (shop back ends): run it beside the server's event loop
    seen = await asyncio.to_thread(
        _app_and_checkout_flow, str(server.base_url), key, clock.now().isoformat()
    )
    assert seen["rank"] == 1 and seen["reversed"] == 200


@pytest.fixture(scope="module")
def built_typescript() -> Path:
    """The TypeScript client and its flow, compiled (tsc checks every type on the way)."""
    ensure_node_modules()
    subprocess.run(
        [str(TYPESCRIPT_DIR / "node_modules" / ".bin" / "tsc"), "-p", "."],
        cwd=TYPESCRIPT_DIR,
        check=True,
        capture_output=True,
    )
    return TYPESCRIPT_DIR / "dist" / "test" / "flow.js"


async def test_typescript_client_runs_the_app_and_checkout_flows(
    live_app, make_key, clock, built_typescript
):
    server = await live_app()
    key = await make_key("admin", name="web-app-backend")
    env = {
        **os.environ,
        "LOYALTY_URL": str(server.base_url),
        "LOYALTY_KEY": key,
        "LOYALTY_NOW": clock.now().isoformat(),
    }
    process = await asyncio.create_subprocess_exec(
        "node",
        str(built_typescript),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, out.decode() + err.decode()
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["replay"] is True and seen["reversed"] == seen["earned"] // 4
    assert seen["available"] == 1000 and seen["after_redeem"] == 700 and seen["rank"] == 1
