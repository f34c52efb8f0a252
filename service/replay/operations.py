"""The stored operations of a member's history, and how each is decided again: the plans the
live use cases make (`pipeline/intake.py`, `pipeline/member_ops.py` and the redemption,
hold and adjustment use cases), the same pure decision, over a `MemoryStore`.

An operation carries what its stored row keeps of the request: the event's attributes and body
hash, a redemption's reward, points, key and coupon code, an adjustment's points and reason;
`now` is the moment it was decided and `seq` the order (`decision_seq`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

import msgspec

from service.decide import EventResult, Prepared, decide, lock_plan, read_plan, referrer_days
from service.decide.adjustments import AdjustRequest, decide_adjustment
from service.decide.drift import drift_pass, drift_reads
from service.decide.erasure import EraseRequest, decide_erasure
from service.decide.plan import LockPlan, member_plan
from service.decide.redemptions import PoolNotStored, RedeemRequest, open_member, settle
from service.decide.redemptions import redeem as decide_redemption
from service.decide.rows import Rows, changed_rows
from service.decide.state import SetState
from service.decide.step import Step
from service.decide.tiering import review_now, settle_tier
from service.engine import Event, InvalidEvent, Ruleset, validate_event_attributes
from service.errors import DomainError, Unprocessable
from service.replay.memory import MemoryStore
from service.views.redemption_view import reward_of

__all__ = [
    "AdjustOp",
    "Applied",
    "DriftOp",
    "EraseOp",
    "EventOp",
    "Operation",
    "RedeemOp",
    "ReviewOp",
    "SettleOp",
    "apply",
    "settle_clock",
]


class EventOp(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    now: datetime
    version: str | None
    member_id: str
    event_id: str
    type: str
    occurred_at: datetime
    attributes: dict[str, Any]
    body_hash: str


class RedeemOp(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    now: datetime
    version: str | None
    member_id: str
    redemption_id: str
    key: str
    request_hash: str
    reward_id: str | None
    points: int
    hold: bool
    reference: str | None
    coupon_code: str | None
    actor: str | None


class SettleOp(msgspec.Struct, frozen=True, kw_only=True):
    """A hold committed, cancelled, or released after its timeout (`expired`)."""

    seq: int
    now: datetime
    version: str | None
    member_id: str
    redemption_id: str
    status: Literal["committed", "cancelled", "expired"]
    actor: str | None


class AdjustOp(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    now: datetime
    version: str | None
    member_id: str
    adjustment_id: str
    key: str | None
    request_hash: str
    points: int
    reason: str
    actor: str


class EraseOp(msgspec.Struct, frozen=True, kw_only=True):
    """An erasure: the open points forfeited, the leaderboard rows removed (the adjustment row
    `erase-<hex>` it booked; the pseudonym is already the member's id everywhere)."""

    seq: int
    now: datetime
    version: str | None
    member_id: str
    adjustment_id: str
    request_hash: str
    actor: str


class ReviewOp(msgspec.Struct, frozen=True, kw_only=True):
    """A tier review the worker made between two operations (a lapse no operation answered)."""

    seq: int
    now: datetime
    version: str | None
    member_id: str


class DriftOp(msgspec.Struct, frozen=True, kw_only=True):
    """An engagement pass the worker made between two operations (a level fallen by time
    alone, stored with no event)."""

    seq: int
    now: datetime
    version: str | None
    member_id: str


Operation = EventOp | RedeemOp | SettleOp | AdjustOp | EraseOp | ReviewOp | DriftOp


class Applied(msgspec.Struct, kw_only=True):
    """What deciding an operation again did: its answer (an event's result, or the refusal)
    and the rows it wrote into the store."""

    outcome: EventResult | DomainError | None
    rows: Rows


_EMPTY = Rows()
_NO_WEBHOOKS: frozenset[str] = frozenset()
"""The memory store keeps no outbox: a replay builds no webhook message (nor rollups, nor the
leaderboards' histogram counters: it keeps none of those shared rows either)."""
_ATTEMPTS = 5


def apply(store: MemoryStore, ruleset: Ruleset, op: Operation) -> Applied:
    """Decide `op` under `ruleset` over the store, and save what it wrote there."""
    if isinstance(op, EventOp):
        return _event(store, ruleset, op)
    if isinstance(op, RedeemOp):
        return _redeem(store, ruleset, op)
    if isinstance(op, SettleOp):
        return _settle(store, ruleset, op)
    if isinstance(op, ReviewOp):
        return _review(store, ruleset, op)
    if isinstance(op, EraseOp):
        return _erase(store, ruleset, op)
    if isinstance(op, DriftOp):
        return _member_op(
            store,
            ruleset,
            op.member_id,
            op.now,
            lambda step, _: drift_pass(step, ruleset, op.member_id),
            reads=drift_reads(ruleset, op.now),
        )
    return _adjust(store, ruleset, op)


def _event(store: MemoryStore, ruleset: Ruleset, op: EventOp) -> Applied:
    try:
        attributes = validate_event_attributes(ruleset, op.type, op.attributes)
    except InvalidEvent as exc:
        refusal = Unprocessable(exc.reason, field=exc.field_path, code="invalid_event")
        return Applied(outcome=refusal, rows=_EMPTY)
    event = Event(
        id=op.event_id,
        type=op.type,
        member_id=op.member_id,
        occurred_at=op.occurred_at,
        attributes=attributes,
    )
    prepared = Prepared(event, op.body_hash)
    extra: dict[str, date | None] = {}
    for _ in range(_ATTEMPTS):
        locked = store.lock(lock_plan(ruleset, [event], extra))
        days = referrer_days(ruleset, [event], locked.links, locked.code_owners)
        for member_id, since in extra.items():
            if since is not None:
                days[member_id] = min(days.get(member_id, since), since)
        plan = read_plan(ruleset, [event], sorted(locked.profiles), op.now, referrer_days=days)
        decision = decide(
            ruleset,
            store.load(plan, locked),
            [prepared],
            op.now,
            webhooks=_NO_WEBHOOKS,
            rollups=False,
        )
        missing = decision.missing
        if missing is None:
            store.save(decision.rows)
            return Applied(outcome=decision.outcomes[0], rows=decision.rows)
        extra[missing.member_id] = min(
            (d for d in (extra.get(missing.member_id), missing.metric_since) if d is not None),
            default=None,
        )
    raise RuntimeError(f"event {op.event_id} of {op.member_id} could not be decided again")


def _member_op(
    store: MemoryStore,
    ruleset: Ruleset,
    member_id: str,
    now: datetime,
    operate: Callable[[Step, SetState], Any],
    *,
    stock: list[str] | None = None,
    reads: dict[str, Any] | None = None,
) -> Applied:
    """As `run_member_op`: lock and load the member, decide, save."""
    reads = dict(reads or {})
    if stock:
        reads["stock"] = stock
    plan = member_plan(ruleset, member_id, now, **reads)
    lock = LockPlan(members=[member_id], stock=stock or [])
    for _ in range(_ATTEMPTS):
        locked = store.lock(lock)
        loaded = store.load(plan, locked)
        step = Step(loaded.members, loaded.budgets, now, loaded.stock_issued)
        try:
            answer = operate(step, loaded)
        except PoolNotStored as missing:
            coupon = missing.reward.coupon
            store.seed_pool(missing.reward.id, (coupon.codes if coupon else None) or [])
            continue
        except DomainError as refusal:
            return Applied(outcome=refusal, rows=_EMPTY)
        after = {**loaded.members, **step.changed}
        rows = changed_rows(
            loaded.members,
            after,
            loaded.budgets,
            step.budgets,
            step.log,
            now,
            None,
            _NO_WEBHOOKS,
            histogram=False,
        )
        if store.save(rows):
            return Applied(outcome=answer if isinstance(answer, DomainError) else None, rows=rows)
    raise RuntimeError(f"an operation on {member_id} could not be decided again")


def _redeem(store: MemoryStore, ruleset: Ruleset, op: RedeemOp) -> Applied:
    reward = None
    if op.reward_id is not None:
        reward = reward_of(ruleset, op.reward_id)
        if reward is None:
            refusal = Unprocessable(
                f"no reward '{op.reward_id}' in the catalog",
                field="reward_id",
                code="unknown_reward",
            )
            return Applied(outcome=refusal, rows=_EMPTY)
    points = reward.cost if reward is not None else op.points
    generated = None
    reads: dict[str, Any] = {"holds": True, "redemption_keys": [(op.member_id, op.key)]}
    if reward is not None:
        reads["reward_counts"] = [(op.member_id, reward.id)]
        coupon = reward.coupon
        if coupon is not None and coupon.codes is not None:
            reads["pool"] = reward.id
            pool = store.codes.get(reward.id, {})
            # the code it was given, if still free (the live pick is the first free one)
            stored_free = op.coupon_code in coupon.codes and pool.get(op.coupon_code or "") is None
            reads["pool_codes"] = [op.coupon_code] if stored_free else list(coupon.codes)
        elif coupon is not None:
            generated = op.coupon_code or f"{coupon.prefix or ''}{op.redemption_id}"
    request = RedeemRequest(
        member_id=op.member_id,
        key=op.key,
        reward=reward,
        points=points,
        hold=op.hold,
        reference=op.reference,
        body_hash=op.request_hash,
        actor=op.actor,
        redemption_id=op.redemption_id,
        generated_code=generated,
    )

    def operate(step: Step, loaded: SetState) -> None:
        decide_redemption(step, ruleset, loaded, request)

    stock = [reward.id] if reward is not None and reward.stock is not None else None
    return _member_op(store, ruleset, op.member_id, op.now, operate, stock=stock, reads=reads)


def _settle(store: MemoryStore, ruleset: Ruleset, op: SettleOp) -> Applied:
    member_id = op.member_id
    if op.status == "expired":

        def release(step: Step, _: SetState) -> None:
            open_member(step, ruleset, step.member(member_id), op.actor)

        return _member_op(store, ruleset, member_id, op.now, release, reads={"holds": True})

    wanted: Literal["committed", "cancelled"] = op.status

    def operate(step: Step, _: SetState) -> DomainError | None:
        return settle(step, ruleset, member_id, op.redemption_id, wanted, op.actor).refusal

    reads = {"holds": True, "redemption_ids": [(member_id, op.redemption_id)]}
    return _member_op(store, ruleset, member_id, op.now, operate, reads=reads)


def _adjust(store: MemoryStore, ruleset: Ruleset, op: AdjustOp) -> Applied:
    request = AdjustRequest(
        member_id=op.member_id,
        points=op.points,
        reason=op.reason,
        actor=op.actor,
        key=op.key,
        body_hash=op.request_hash,
        adjustment_id=op.adjustment_id,
    )

    def operate(step: Step, _: SetState) -> None:
        decide_adjustment(step, ruleset, request)

    reads: dict[str, Any] = {"holds": True}
    if op.key is not None:
        reads["adjustment_keys"] = [(op.member_id, op.key)]
    return _member_op(store, ruleset, op.member_id, op.now, operate, reads=reads)


def _erase(store: MemoryStore, ruleset: Ruleset, op: EraseOp) -> Applied:
    request = EraseRequest(
        member_id=op.member_id,
        actor=op.actor,
        adjustment_id=op.adjustment_id,
        body_hash=op.request_hash,
    )

    def operate(step: Step, _: SetState) -> None:
        decide_erasure(step, ruleset, request)

    applied = _member_op(store, ruleset, op.member_id, op.now, operate, reads={"holds": True})
    store.member(op.member_id).scores.clear()  # as `store.erasure.pseudonymise` deletes them
    return applied


def _review(store: MemoryStore, ruleset: Ruleset, op: ReviewOp) -> Applied:
    program = ruleset.program.tiers
    if program is None:
        return Applied(outcome=None, rows=_EMPTY)

    def operate(step: Step, _: SetState) -> None:
        assert program is not None
        state = step.member(op.member_id)
        settle_tier(step, program, state, review_now(program, state, op.now), None)

    return _member_op(store, ruleset, op.member_id, op.now, operate, reads={"tier": True})


def settle_clock(store: MemoryStore, ruleset: Ruleset, member_id: str, now: datetime) -> Applied:
    """What the worker's passes book for a member by `now`: lots activated and expired, tier
    lapses (the worker's own, never an operation of the journal)."""
    program = ruleset.program.tiers

    def operate(step: Step, _: SetState) -> None:
        state = step.matured(step.member(member_id))
        if program is not None:
            settle_tier(step, program, state, review_now(program, state, now), None)

    reads = {"tier": True} if program is not None else {}
    return _member_op(store, ruleset, member_id, now, operate, reads=reads)
