"""Time passing: pending points activate and lots expire on time, holds time out (and, in
`loyalty worker`, webhooks are delivered: `operations/webhook_delivery.py`).

Runs inside every `loyalty serve` process and as `loyalty worker`. Several copies are safe:
each member is taken with `FOR UPDATE SKIP LOCKED`, so two workers (or a worker and an event)
never book the same member at once. Reads do not wait for it: they compute balances as of now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from service.active_ruleset import NoActiveRuleset
from service.decide.state import SetState
from service.decide.step import Step
from service.operations.engagement import review_engagement_due
from service.operations.redeem import release_expired_holds
from service.operations.rollups import fold_past_days
from service.operations.tiers import review_tiers_due
from service.pipeline.member_ops import run_member_op
from service.runtime import Runtime
from service.settings import Settings
from service.store import ledger as ledger_store

__all__ = ["mature_due", "run_worker", "run_worker_once"]

logger = logging.getLogger("service.worker")


async def mature_due(runtime: Runtime, now: datetime, limit: int = 200) -> int:
    """Book activations and expiries due by `now` for up to `limit` members; how many."""
    async with runtime.db.connection() as conn:
        due = await ledger_store.members_due(conn, now, limit)
    done = 0
    for member_id in due:

        def operate(step: Step, _: SetState, member_id: str = member_id) -> None:
            step.matured(step.member(member_id))

        # a member an event or another worker is booking right now is skipped
        _, booked = await run_member_op(runtime, member_id, operate, now=now, skip_locked=True)
        done += booked
    return done


async def run_worker_once(runtime: Runtime) -> tuple[int, int]:
    """One pass: (members matured, holds released)."""
    now = runtime.clock.now()
    matured = await mature_due(runtime, now)
    await review_tiers_due(runtime, now)  # tier lapses (downgrades after grace)
    await review_engagement_due(runtime, now)  # engagement levels fallen by time alone
    released = await release_expired_holds(runtime, now)
    await fold_past_days(runtime.db, now, runtime.rules.current.program.timezone)
    return matured, released


async def run_worker(runtime: Runtime, interval: float, stop: asyncio.Event) -> None:
    """Pass every `interval` seconds until `stop` is set; errors are logged, never fatal.

    With no ruleset active there is nothing to pass under: that is said once, as a warning
    (not a traceback every pass), and the passes resume when one is published."""
    waiting = False
    while not stop.is_set():
        try:
            matured, released = await run_worker_once(runtime)
            if waiting:
                logger.info("worker resumes: a ruleset is active")
            waiting = False
            if matured or released:
                logger.info(
                    "worker pass", extra={"fields": {"matured": matured, "released": released}}
                )
        except NoActiveRuleset as exc:
            if not waiting:
                logger.warning("worker waits for a ruleset: %s", exc)
            waiting = True
        except Exception:
            logger.exception("worker pass failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def run_standalone(settings: Settings, url: str, *, once: bool = False) -> None:
    """`loyalty worker`: the worker loop on its own pool, without HTTP."""
    from service.active_ruleset import ActiveRuleset
    from service.core.clock import SystemClock
    from service.operations.webhook_delivery import (
        find_time_driven,
        new_client,
        run_delivery_pass,
        run_webhooks,
    )
    from service.store.database import Database

    db = Database(url, min_size=1, max_size=4, timeout=settings.db_timeout_seconds)
    await db.open()
    rules = ActiveRuleset(db)
    try:
        await rules.start(settings.rules_path)
        runtime = Runtime(db=db, clock=SystemClock(), rules=rules)
        if once:
            matured, released = await run_worker_once(runtime)
            found = await find_time_driven(runtime)
            async with new_client(settings) as client:
                sent = await run_delivery_pass(runtime, client, settings=settings, metrics=None)
            print(
                f"matured {matured} members, released {released} holds, "
                f"{found} time-driven webhooks found, {sent.delivered} delivered, "
                f"{sent.failed} failed"
            )
            return
        stop = asyncio.Event()
        await asyncio.gather(
            run_worker(runtime, settings.worker_interval_seconds or 5.0, stop),
            run_webhooks(
                runtime,
                settings.webhook_interval_seconds or 1.0,
                stop,
                settings=settings,
                metrics=None,  # no HTTP: nothing would expose them
            ),
        )
    finally:
        await rules.stop()
        await db.close()
