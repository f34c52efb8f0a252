"""The service's sessions keep one generic plan per statement; a transaction over a queue asks
for plans made on every call, and for that transaction only."""

from __future__ import annotations


async def _mode(conn) -> str:  # type: ignore[no-untyped-def]
    return str(await conn.raw.fetchval("SHOW plan_cache_mode"))


async def test_a_transaction_planned_on_every_call_leaves_the_session_generic(db):
    async with db.transaction() as conn:
        assert await _mode(conn) == "force_generic_plan"
    async with db.transaction(plan_each_call=True) as conn:
        assert await _mode(conn) == "force_custom_plan"
    for _ in range(4):  # every pooled connection, the one above among them
        async with db.transaction() as conn:
            assert await _mode(conn) == "force_generic_plan"
