"""Random streams of purchases, late purchases, refunds, spends, holds and clock moves, driven
through the HTTP API, agree after every step with a small reference model of lots, and the
ledger verifies. Hypothesis prints the failing sequence (and its seed) when they disagree."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import asyncpg
from helpers import app_settings, bearer, ledger_problems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.auth import generate_key
from service.core.clock import FixedClock
from service.store import keys as key_store
from service.store.database import Database
from service.worker import mature_due

PENDING_DAYS = 3
EXPIRY_DAYS = 30
PROGRAM = f"""
program:
  name: Model program
  timezone: UTC
  points:
    pending_days: {{purchase: {PENDING_DAYS}}}
    expiry: {{kind: rolling, days: {EXPIRY_DAYS}}}
    allow_negative_balance: false
    hold_timeout_minutes: 60
"""
EARN = """
rules:
  - id: unit
    on: purchase
    actions:
      - points: floor(event.amount)
"""
MEMBERS = ("ann", "bob")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class ModelLot:
    lot_id: str
    points: int
    remaining: int
    earned_at: datetime
    activates_at: datetime
    expires_at: datetime
    order_id: str | None

    def key(self) -> tuple[datetime, datetime, str]:
        return (self.activates_at, self.earned_at, self.lot_id)

    def available(self, now: datetime) -> bool:
        return self.activates_at <= now < self.expires_at and self.activates_at < self.expires_at

    def pending(self, now: datetime) -> bool:
        return now < self.activates_at and now < self.expires_at


@dataclass
class ModelOrder:
    member: str
    amount: Decimal
    earned: int
    refunded: Decimal = Decimal(0)
    settled: int = 0


@dataclass
class Model:
    """The reference: lots per member, FIFO spending, proportional refunds, no debt."""

    lots: dict[str, list[ModelLot]] = field(default_factory=lambda: {m: [] for m in MEMBERS})
    held: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEMBERS, 0))
    holds: dict[str, tuple[str, list[tuple[ModelLot, int]]]] = field(default_factory=dict)
    orders: dict[str, ModelOrder] = field(default_factory=dict)

    def balances(self, member: str, now: datetime) -> tuple[int, int, int]:
        lots = self.lots[member]
        available = sum(lot.remaining for lot in lots if lot.available(now))
        pending = sum(lot.remaining for lot in lots if lot.pending(now))
        return available, pending, self.held[member]

    def take_fifo(self, member: str, points: int, now: datetime) -> list[tuple[ModelLot, int]]:
        taken = []
        for lot in sorted(self.lots[member], key=ModelLot.key):
            if points == 0:
                break
            if lot.available(now) and lot.remaining:
                part = min(points, lot.remaining)
                lot.remaining -= part
                points -= part
                taken.append((lot, part))
        return taken

    def refund(self, order_id: str, amount: Decimal, now: datetime) -> None:
        order = self.orders[order_id]
        order.refunded += amount
        unit = Decimal(10_000)
        target = order.earned * int(order.refunded * unit) // int(order.amount * unit)
        due = max(0, target - order.settled)
        order.settled += due
        own = [
            lot
            for lot in self.lots[order.member]
            if lot.order_id == order_id
            and lot.remaining
            and (lot.available(now) or lot.pending(now))
        ]
        for lot in sorted(own, key=ModelLot.key):
            part = min(due, lot.remaining)
            lot.remaining -= part
            due -= part
        self.take_fifo(order.member, due, now)  # the rest from other points; beyond: forgiven


operation = st.one_of(
    st.tuples(
        st.just("purchase"), st.sampled_from(MEMBERS), st.integers(100, 30_000), st.integers(0, 4)
    ),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100)),
    st.tuples(st.just("spend"), st.sampled_from(MEMBERS), st.integers(1, 400)),
    st.tuples(st.just("hold"), st.sampled_from(MEMBERS), st.integers(1, 300)),
    st.tuples(st.just("settle"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("advance"), st.integers(1, 24 * 20)),
    st.tuples(
        st.just("worker"),
    ),
)


async def _fresh_database(admin_url: str, template: str) -> str:
    name = f"m_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    finally:
        await conn.close()
    return f"{admin_url.rpartition('/')[0]}/{name}", name


async def _scenario(admin_url: str, template: str, ops: list[tuple], rules_dir) -> None:
    url, name = await _fresh_database(admin_url, template)
    clock = FixedClock(START)
    db = Database(url, min_size=0, max_size=4)
    await db.open()
    issued = generate_key("model", ["admin"])
    async with db.transaction() as conn:
        await key_store.insert_key(
            conn,
            key_id=issued.key_id,
            name=issued.name,
            secret_hash=issued.secret_hash,
            scopes=issued.scopes,
        )
    auth = bearer(issued.token)
    model_settings = app_settings(url, rules_dir=str(rules_dir))
    model = Model()
    order_ids: list[str] = []
    hold_ids: list[str] = []
    try:
        async with AsyncTestClient(app=create_app(model_settings, clock=clock)) as client:
            from service.active_ruleset import ActiveRuleset
            from service.runtime import Runtime

            rules = ActiveRuleset(db)
            await rules.refresh()
            runtime = Runtime(db=db, clock=clock, rules=rules)
            for step, op in enumerate(ops):
                now = clock.now()
                kind = op[0]
                if kind == "purchase":
                    _, member, cents, late_days = op
                    amount = Decimal(cents) / 100
                    occurred = now - timedelta(days=late_days)
                    event_id = f"e{step}"
                    order_id = f"o{step}"
                    body = {
                        "id": event_id,
                        "type": "purchase",
                        "member_id": member,
                        "occurred_at": occurred.isoformat(),
                        "attributes": {
                            "order_id": order_id,
                            "amount": str(amount),
                            "currency": "EUR",
                            "items": [],
                        },
                    }
                    response = await client.post("/v1/events", json=body, headers=auth)
                    assert response.status_code == 201, response.text
                    points = int(amount)
                    if points:
                        model.lots[member].append(
                            ModelLot(
                                lot_id=f"{event_id}/unit",
                                points=points,
                                remaining=points,
                                earned_at=occurred,
                                activates_at=occurred + timedelta(days=PENDING_DAYS),
                                expires_at=occurred + timedelta(days=EXPIRY_DAYS),
                                order_id=order_id,
                            )
                        )
                    model.orders[order_id] = ModelOrder(member=member, amount=amount, earned=points)
                    order_ids.append(order_id)
                elif kind == "refund" and order_ids:
                    _, pick, percent = op
                    order_id = order_ids[pick % len(order_ids)]
                    order = model.orders[order_id]
                    left = order.amount - order.refunded
                    amount = (left * percent / 100).quantize(Decimal("0.01"), ROUND_DOWN)
                    if amount <= 0:
                        continue
                    body = {
                        "id": f"r{step}",
                        "type": "refund",
                        "member_id": order.member,
                        "occurred_at": now.isoformat(),
                        "attributes": {"order_id": order_id, "amount": str(amount)},
                    }
                    response = await client.post("/v1/events", json=body, headers=auth)
                    assert response.status_code == 201, response.text
                    model.refund(order_id, amount, now)
                elif kind in ("spend", "hold"):
                    _, member, points = op
                    available = model.balances(member, now)[0]
                    response = await client.post(
                        f"/v1/members/{member}/redemptions",
                        json={"points": points, "hold": kind == "hold"},
                        headers={**auth, "Idempotency-Key": f"k{step}"},
                    )
                    if points > available:
                        assert response.status_code == 422, response.text
                        continue
                    assert response.status_code == 201, response.text
                    taken = model.take_fifo(member, points, now)
                    if kind == "hold":
                        model.held[member] += points
                        model.holds[response.json()["id"]] = (member, taken)
                        hold_ids.append(response.json()["id"])
                elif kind == "settle" and hold_ids:
                    _, pick, commit = op
                    rid = hold_ids.pop(pick % len(hold_ids))
                    member, taken = model.holds.pop(rid)
                    verb = "commit" if commit else "cancel"
                    response = await client.post(f"/v1/redemptions/{rid}/{verb}", headers=auth)
                    assert response.status_code == 200, response.text
                    model.held[member] -= sum(part for _, part in taken)
                    if not commit:
                        _give_back(model, member, taken, now, rid)
                elif kind == "advance":
                    clock.advance(timedelta(hours=op[1]))
                    # holds time out after 60 minutes: the service releases them lazily
                    for rid in list(hold_ids):
                        hold_ids.remove(rid)
                        member, taken = model.holds.pop(rid)
                        response = await client.post(f"/v1/redemptions/{rid}/cancel", headers=auth)
                        assert response.status_code == 200, response.text
                        model.held[member] -= sum(part for _, part in taken)
                        _give_back(model, member, taken, clock.now(), rid)
                elif kind == "worker":
                    await mature_due(runtime, now)
                for member in MEMBERS:
                    got = await client.get(f"/v1/members/{member}", headers=auth)
                    if got.status_code == 404:
                        assert model.balances(member, clock.now()) == (0, 0, 0)
                        continue
                    b = got.json()["balances"]
                    assert (b["available"], b["pending"], b["held"]) == model.balances(
                        member, clock.now()
                    ), f"step {step} {op}: service {b} vs model"
                await _compare_lots(db, model, clock.now(), step, op)
                assert await ledger_problems(db) == []
    finally:
        await db.close()
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def _compare_lots(db: Database, model: Model, now: datetime, step: int, op: tuple) -> None:
    """Every live lot holds what the model says it holds: spending really was oldest first.
    SQL on purpose: every member's lots in one read, against the model, at every step."""
    async with db.connection() as conn:
        rows = await conn.raw.fetch(
            "SELECT lot_id, remaining FROM lots WHERE remaining > 0 AND "
            "(expires_at IS NULL OR expires_at > $1)",
            now,
        )
    stored = {row["lot_id"]: row["remaining"] for row in rows}
    expected = {
        lot.lot_id: lot.remaining
        for lots in model.lots.values()
        for lot in lots
        if lot.remaining and (lot.available(now) or lot.pending(now))
    }
    assert stored == expected, f"step {step} {op}: lots differ"


def _give_back(model: Model, member: str, taken, when: datetime, rid: str) -> None:
    """A released hold puts points back in their lots, or in a new lot if one expired."""
    for lot, part in taken:
        if when < lot.expires_at:
            lot.remaining += part
        else:
            model.lots[member].append(
                ModelLot(
                    lot_id=f"{lot.lot_id}@{rid}",
                    points=part,
                    remaining=part,
                    earned_at=when,
                    activates_at=when,
                    expires_at=when + timedelta(days=EXPIRY_DAYS),
                    order_id=lot.order_id,
                )
            )


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=10, max_size=30))
def test_service_agrees_with_a_reference_model(pg_admin_url, template_db, tmp_path_factory, ops):
    rules_dir = tmp_path_factory.mktemp("model-rules")
    (rules_dir / "program.yaml").write_text(PROGRAM)
    (rules_dir / "earn.yaml").write_text(EARN)
    asyncio.run(_scenario(pg_admin_url, template_db, ops, rules_dir))


def test_model_sanity_two_lots_then_spend(pg_admin_url, template_db, tmp_path_factory):
    """A fixed sequence: the model and the service agree on which lot a spend takes from."""
    rules_dir = tmp_path_factory.mktemp("model-rules")
    (rules_dir / "program.yaml").write_text(PROGRAM)
    (rules_dir / "earn.yaml").write_text(EARN)
    ops = [
        ("purchase", "ann", 10_000, 4),
        ("purchase", "ann", 5_000, 4),
        ("spend", "ann", 30),
        ("advance", 24 * 27),
        ("worker",),
        ("spend", "ann", 10),
    ]
    asyncio.run(_scenario(pg_admin_url, template_db, ops, rules_dir))
