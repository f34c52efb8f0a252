"""Erasure: a member who asked to be forgotten.

In one transaction: the open points are forfeited through the member-operation path (an
adjustment `erase-<hex>` with one `expire` entry per lot, which the replay decides again), then
the member id is replaced by a random pseudonym in every table that keeps history, the profile
(display name, birthday, attributes, time zone) is emptied and the leaderboard rows are removed.
The ledger stays: it is a financial record, and it still verifies and replays. The id it
replaced is kept nowhere; `erasures` lists the pseudonym, when, and who erased it.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import msgspec

from service.decide.adjustments import AdjustmentResult
from service.decide.erasure import ERASURE_PREFIX, EraseRequest, decide_erasure
from service.decide.state import SetState
from service.decide.step import Step
from service.errors import NotFound
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime
from service.store import erasure as erasure_store
from service.store.database import Connection
from service.views.redemption_view import new_redemption_id

__all__ = ["Erased", "erase_member"]


class Erased(msgspec.Struct, kw_only=True):
    """What an erasure did: the pseudonym the history now carries and the points forfeited."""

    pseudonym: str
    erased_at: datetime
    points_forfeited: int
    adjustment_id: str
    """The forfeit in the ledger (under the pseudonym), one `expire` entry per lot."""


def _suffix(member_id: str) -> str:
    return "." + new_redemption_id(member_id).split(".", 1)[1]


async def erase_member(runtime: Runtime, member_id: str, actor: str) -> Erased:
    """Forget the member (see the module docstring); NotFound for no such member."""
    ruleset = runtime.rules.current
    now = runtime.clock.now()
    pseudonym = f"erased-{secrets.token_hex(12)}"
    request = EraseRequest(
        member_id=member_id, actor=actor, adjustment_id=f"{ERASURE_PREFIX}{uuid.uuid4().hex}"
    )
    forfeited: list[int] = []  # what the decision booked, for `then` (same transaction)

    def operate(step: Step, _: SetState) -> AdjustmentResult:
        result = decide_erasure(step, ruleset, request)
        forfeited[:] = [result.points]
        return result

    async def then(conn: Connection) -> None:
        if not await erasure_store.lock_member(conn, member_id):
            raise NotFound(f"no member '{member_id}'", field="member_id")
        await erasure_store.pseudonymise(
            conn, member_id, pseudonym, _suffix(member_id), _suffix(pseudonym)
        )
        await erasure_store.record(conn, pseudonym, now, actor, -forfeited[0])

    async with runtime.db.connection() as conn:
        if not await erasure_store.is_member(conn, member_id):
            raise NotFound(f"no member '{member_id}'", field="member_id")

    result, found = await run_member_op(
        runtime,
        member_id,
        operate,
        ruleset=ruleset,
        now=now,
        reads={"holds": True},
        then=then,
    )
    if not found:
        raise NotFound(f"no member '{member_id}'", field="member_id")
    return Erased(
        pseudonym=pseudonym,
        erased_at=now,
        points_forfeited=-result.points,
        adjustment_id=result.adjustment_id,
    )
