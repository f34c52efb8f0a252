"""Admin adjustments: a person with the `admin` scope adds or removes points, saying why.

An addition is a new lot `adj-<hex>` available at once (with the program's expiry); a removal
takes available points oldest lot first and, beyond them, books debt if the program allows a
negative balance (otherwise the removal is refused). Entries name the API key as their actor.
With an Idempotency-Key a repeated request is answered from the stored adjustment.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from service.core.ledger import InsufficientPoints, adjust
from service.errors import Conflict, InvalidInput, Unprocessable
from service.services import Services
from service.store import adjustments as store
from service.store import ledger as ledger_store
from service.usecases.booking import BalancesView, _policy, balances_view
from service.usecases.holds import open_member
from service.usecases.members import MEMBER_ID_PATTERN
from service.usecases.redeem import checked_key

__all__ = ["AdjustmentEntry", "AdjustmentIn", "AdjustmentResult", "adjust_points"]

_canonical = msgspec.json.Encoder(order="sorted")
_LIMIT = 1_000_000_000


class AdjustmentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Add (points > 0) or remove (points < 0) a member's points, with the reason why."""

    member_id: Annotated[str, msgspec.Meta(pattern=MEMBER_ID_PATTERN)]
    points: Annotated[int, msgspec.Meta(ge=-_LIMIT, le=_LIMIT)]
    """Non-zero: positive adds a lot, negative removes from the oldest lots."""
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
    """Why, in words a member or an auditor will read in the ledger."""


class AdjustmentEntry(msgspec.Struct, kw_only=True):
    """A ledger entry the adjustment booked."""

    kind: str
    balance: str
    points: int
    lot_id: str | None
    reason: str
    at: datetime


class AdjustmentResult(msgspec.Struct, kw_only=True):
    """What an adjustment booked, and the member's balances after it."""

    adjustment_id: str
    member_id: str
    points: int
    reason: str
    actor: str
    created_at: datetime
    replay: bool = False
    """True when this is the stored answer to an earlier request with the same Idempotency-Key."""
    entries: list[AdjustmentEntry]
    balances: BalancesView


async def adjust_points(
    services: Services, body: AdjustmentIn, actor: str, key: str | None
) -> AdjustmentResult:
    """Book one adjustment in the member's ledger (once per Idempotency-Key, when given)."""
    if body.points == 0:
        raise InvalidInput("points must not be 0", field="points")
    key = checked_key(key, required=False)
    ruleset = services.rules.current
    now = services.clock.now()
    body_hash = hashlib.sha256(_canonical.encode(body)).hexdigest()
    async with services.db.transaction() as conn:
        await ledger_store.lock_member(conn, body.member_id)
        if key is not None:
            stored = await store.fetch_by_key(conn, body.member_id, key)
            if stored is not None:
                if stored["request_hash"] != body_hash:
                    raise Conflict(
                        f"Idempotency-Key '{key}' was already used with a different body",
                        field="Idempotency-Key",
                        code="idempotency_key_reused",
                    )
                result = msgspec.convert(stored["result"], AdjustmentResult)
                return msgspec.structs.replace(result, replay=True)
        book, _ = await open_member(conn, ruleset, body.member_id, now)
        adjustment_id = f"adj-{uuid.uuid4().hex}"
        points = ruleset.program.points
        try:
            change = adjust(
                book.lots,
                book.balances,
                member_id=body.member_id,
                points=body.points,
                now=now,
                policy=_policy(ruleset),
                allow_negative=points.allow_negative_balance,
                reason=f"{body.reason} (adjustment {adjustment_id})",
                lot_id=adjustment_id if body.points > 0 else None,
            )
        except InsufficientPoints as exc:
            raise Unprocessable(
                f"cannot remove {exc.requested} points: {exc.available} available "
                "and the program allows no negative balance",
                field="points",
                code="insufficient_points",
            ) from None
        book.take(change)
        result = AdjustmentResult(
            adjustment_id=adjustment_id,
            member_id=body.member_id,
            points=body.points,
            reason=body.reason,
            actor=actor,
            created_at=now,
            entries=[
                AdjustmentEntry(
                    kind=e.kind,
                    balance=e.balance,
                    points=e.points,
                    lot_id=e.lot_id,
                    reason=e.reason,
                    at=e.at,
                )
                for e in change.entries
            ],
            balances=balances_view(book.balances),
        )
        await book.write(conn, body.member_id, actor)
        await store.insert_adjustment(
            conn,
            member_id=body.member_id,
            adjustment_id=adjustment_id,
            idempotency_key=key,
            request_hash=body_hash,
            points=body.points,
            reason=body.reason,
            actor=actor,
            created_at=now,
            result=msgspec.to_builtins(result),
        )
    return result
