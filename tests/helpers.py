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
