"""Statements per request on the hot paths, counted (not timed): on this kind of machine each
statement costs the server more CPU than the rest of the request (README, Benchmarks), so a
change that adds one to an event or a member read shows up here, not in a noisy benchmark."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from helpers import bearer, member_token, purchase

INGEST_BUDGET = 11
"""BEGIN, lock, state (with the game state), order, challenge, ledger book, board scores,
tier metrics, event (with its counter), board histogram (last: its rows are shared), COMMIT."""
MEMBER_READ_BUDGET = 1
"""The state with the profile and the game state."""


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every statement sent on a pooled connection, except the API key lookup (the tests
    turn the key cache off; in service a key is read once per 10 s)."""
    sent: list[str] = []
    for name in ("execute", "fetch", "fetchrow", "fetchval", "executemany"):
        original = getattr(asyncpg.Connection, name)

        def counting(original: Any = original) -> Any:
            async def run(self: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> Any:
                if "FROM api_keys" not in query:
                    sent.append(" ".join(query.split())[:80])
                return await original(self, query, *args, **kw)

            return run

        monkeypatch.setattr(asyncpg.Connection, name, counting())
    yield sent


async def test_an_event_and_a_member_read_stay_within_their_statement_budgets(
    client, make_key, statements
):
    key = await make_key("events:write", "members:token")
    first = purchase("warm", "alice", "20")
    assert (await client.post("/v1/events", json=first, headers=bearer(key))).status_code == 201
    token = await member_token(client, key, "alice")

    statements.clear()
    body = purchase("e1", "alice", "120.50", occurred_at="2026-03-02T09:00:00Z")
    assert (await client.post("/v1/events", json=body, headers=bearer(key))).status_code == 201
    assert len(statements) <= INGEST_BUDGET, "\n".join(statements)
    assert statements[0].startswith("BEGIN") and statements[-1].startswith("COMMIT")

    statements.clear()
    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    assert len(statements) <= MEMBER_READ_BUDGET, "\n".join(statements)

    statements.clear()
    replay = await client.post("/v1/events", json=body, headers=bearer(key))
    assert replay.status_code == 200 and replay.json()["replay"] is True
    assert len(statements) <= 4, "\n".join(statements)  # BEGIN, lock, state, COMMIT
