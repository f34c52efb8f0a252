"""Small builders shared by the HTTP tests."""

from __future__ import annotations

from typing import Any


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


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


async def ledger_problems(db: Any) -> list[str]:
    """What `loyalty ledger verify` would report for this database (empty: all balanced)."""
    from service.usecases.ledger_check import MemberMismatch, verify_ledger

    problems: list[str] = []
    async for outcome in verify_ledger(db):
        if isinstance(outcome, MemberMismatch):
            problems.extend(f"{outcome.member_id}: {p}" for p in outcome.problems)
    return problems
