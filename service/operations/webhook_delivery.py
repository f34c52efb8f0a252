"""Delivering webhooks: each pass takes due deliveries (`FOR UPDATE SKIP LOCKED`, so any
replica may run passes), sends each member's in order per endpoint, signed per Standard
Webhooks, and records what came of each attempt in the same transaction. A failure is retried
after an exponential backoff with jitter until the retry period has passed since the message
was written (or redelivered), then dead-lettered; an endpoint failing for that long is disabled
with the reason. A crash mid-pass rolls the pass back: its messages are sent again (at least
once; receivers deduplicate by `webhook-id`).

Time-driven kinds are searched for every LOYALTY_WEBHOOK_SCAN_SECONDS: `points.expiring` (points
expiring within the endpoint's days) and `streak.at_risk` (a streak's previous unit done, the
current one not, and the unit ends, in the member's time zone, within the endpoint's hours);
each is stored once per endpoint and moment (its id names them), so it is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec

from service.active_ruleset import NoActiveRuleset
from service.core.streaks import unit_of
from service.core.webhooks import backoff, message_id, signatures
from service.operations.webhook_client import WebhookClient
from service.operations.webhook_targets import Address, TargetRefused, check_target
from service.runtime import Runtime
from service.settings import Settings
from service.store import webhooks as store
from service.store.database import Connection
from service.store.webhooks import DueDelivery, StoredEndpoint

if TYPE_CHECKING:
    from service.http.metrics import Metrics

__all__ = [
    "PassResult",
    "find_time_driven",
    "new_client",
    "prune_delivered",
    "run_delivery_pass",
    "run_webhooks",
]

logger = logging.getLogger("service.webhooks")

_encode = msgspec.json.Encoder().encode
_ERROR_CHARS = 300
_MAX_ANSWER = 65_536
"""The most of an endpoint's answer read (its status is what counts)."""


class PassResult(msgspec.Struct):
    """What one delivery pass did."""

    taken: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    disabled: list[str] = []
    full: bool = False
    """An endpoint had at least its share of the batch taken: more may be waiting."""


def new_client(settings: Settings) -> WebhookClient:
    """The HTTP client passes send with (`webhook_client`): keep-alive connections up to the
    concurrency per endpoint address, the per-request timeout, redirects not followed."""
    return WebhookClient(
        timeout=settings.webhook_timeout_seconds,
        idle_limit=settings.webhook_concurrency,
        user_agent="loyalty-webhooks/1",
        max_answer=_MAX_ANSWER,
    )


def _body(d: DueDelivery) -> bytes:
    return _encode({"type": d.kind, "timestamp": d.created_at, "data": d.payload})


def _live_secrets(endpoint: StoredEndpoint, now: datetime) -> list[str]:
    live = [endpoint.secret]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and now < until:
        live.append(endpoint.previous_secret)
    return live


class _Pass:
    """One pass's sending: lanes in parallel (bounded), each lane in order, stopping at its
    first failure."""

    def __init__(
        self,
        runtime: Runtime,
        settings: Settings,
        client: WebhookClient,
        endpoints: list[StoredEndpoint],
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.client = client
        self.endpoints = {e.endpoint_id: e for e in endpoints}
        self.targets: dict[str, list[Address] | str] = {}  # a URL's addresses, or why refused
        self.results: list[dict[str, Any]] = []
        self.outcome: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # [ok, failed]
        self.last_error: dict[str, str] = {}
        self.semaphore = asyncio.Semaphore(settings.webhook_concurrency)
        self.deadline = time.monotonic() + settings.webhook_timeout_seconds
        self.rng = random.Random()  # jitter, not a secret

    async def _target(self, endpoint: StoredEndpoint) -> list[Address] | str:
        """The checked addresses of the endpoint's host, resolved once per pass, or why the
        URL is refused."""
        url = endpoint.url
        if url not in self.targets:
            try:
                self.targets[url] = await check_target(url, self.settings.allowed_networks)
            except TargetRefused as exc:
                self.targets[url] = f"refused: {exc}"
        return self.targets[url]

    async def _send(self, d: DueDelivery) -> tuple[int | None, str | None]:
        endpoint = self.endpoints[d.endpoint_id]
        addresses = await self._target(endpoint)
        if isinstance(addresses, str):
            return None, addresses
        body = _body(d)
        now = self.runtime.clock.now()
        stamp = int(now.timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": d.message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signatures(
                _live_secrets(endpoint, now), d.message_id, stamp, body
            ),
        }
        try:
            async with self.semaphore:  # the whole exchange within the client's timeout
                status = await self.client.post(endpoint.url, body, headers, addresses)
        except TimeoutError:
            return None, "timed out"
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
        if 200 <= status < 300:
            return status, None
        if 300 <= status < 400:
            return status, f"HTTP {status} (redirects not followed)"
        return status, f"HTTP {status}"

    def _record(self, d: DueDelivery, code: int | None, error: str | None) -> str:
        settings = self.settings
        now = self.runtime.clock.now()
        attempts = d.attempts + 1
        row = {
            "row_id": d.row_id,
            "endpoint_id": d.endpoint_id,
            "attempts": attempts,
            "last_attempt_at": now,
            "last_status_code": code,
            "last_error": error,
            "delivered_at": None,
            "next_attempt_at": now,
        }
        if error is None:
            row["status"] = "delivered"
            row["delivered_at"] = now
            self.outcome[d.endpoint_id][0] += 1
        else:
            self.outcome[d.endpoint_id][1] += 1
            self.last_error[d.endpoint_id] = error
            expired = now >= d.retry_from + timedelta(seconds=settings.webhook_retry_seconds)
            row["status"] = "dead" if expired else "pending"
            wait = backoff(attempts, self.rng.random(), settings.webhook_backoff_max_seconds)
            row["next_attempt_at"] = now + wait
        self.results.append(row)
        return str(row["status"])

    async def lane(self, deliveries: list[DueDelivery]) -> None:
        """Send a lane's deliveries in order, up to its first failure (the rest wait)."""
        for d in deliveries:
            if self.results and time.monotonic() > self.deadline:
                return  # the pass has run long enough: the rest go next pass, in order
            code, error = await self._send(d)
            if self._record(d, code, error) != "delivered":
                return


def _lanes(due: list[DueDelivery], now: datetime) -> list[list[DueDelivery]]:
    lanes: dict[tuple[str, str], list[DueDelivery]] = {}
    cut: set[tuple[str, str]] = set()
    for d in due:  # in seq order
        key = (d.endpoint_id, d.member_id)
        if key in cut:
            continue
        if d.next_attempt_at > now and key in lanes:
            cut.add(key)  # a later delivery is not sent before this one
            continue
        lanes.setdefault(key, []).append(d)
    return list(lanes.values())


async def run_delivery_pass(
    runtime: Runtime,
    client: WebhookClient,
    *,
    settings: Settings,
    metrics: Metrics | None,
) -> PassResult:
    """Take, send and record one batch of due deliveries, in one transaction, as the webhook
    `settings` say (batch, concurrency, timeouts, retries, allowed networks); counted in
    `metrics`, if given. Each active endpoint gets a share of the batch; one that answered
    nothing is left alone until the earliest retry its failures set."""
    now = runtime.clock.now()
    async with runtime.db.transaction(plan_each_call=True) as conn:
        endpoints = await store.endpoints(conn)
        share = max(1, settings.webhook_batch // max(1, _active(endpoints)))
        due = await store.take_due(conn, now, settings.webhook_batch, share)
        if not due:
            return PassResult()
        sending = _Pass(runtime, settings, client, endpoints)
        await asyncio.gather(*(sending.lane(lane) for lane in _lanes(due, now)))
        await store.record_attempts(conn, sending.results)
        ok = [e for e, (good, _) in sending.outcome.items() if good]
        bad = {
            e: _earliest_retry(sending.results, e)
            for e, (good, failed) in sending.outcome.items()
            if failed and not good
        }
        await store.mark_endpoints(conn, ok, bad, now)
        before = now - timedelta(seconds=settings.webhook_retry_seconds)
        disabled = await store.dead_letter_disabled(conn, before, now, sending.last_error)
    result = PassResult(taken=len(due), disabled=disabled, full=_full_share(due, share))
    for row in sending.results:
        if row["status"] == "delivered":
            result.delivered += 1
        else:
            result.failed += 1
            result.dead += row["status"] == "dead"
    if metrics is not None:
        metrics.observe_webhooks(result.delivered, result.failed, result.dead)
    for endpoint_id in disabled:
        logger.warning("webhook endpoint %s disabled: failing too long", endpoint_id)
    return result


def _earliest_retry(results: list[dict[str, Any]], endpoint_id: str) -> datetime | None:
    """When the pass's first failure of an endpoint that is still retried is next due (None:
    every failure was dead-lettered)."""
    retries = [
        row["next_attempt_at"]
        for row in results
        if row["endpoint_id"] == endpoint_id and row["status"] == "pending"
    ]
    return min(retries, default=None)


def _active(endpoints: list[StoredEndpoint]) -> int:
    return sum(e.status == "active" for e in endpoints)


def _full_share(due: list[DueDelivery], share: int) -> bool:
    """Whether an endpoint had `share` deliveries taken (its share of the batch): more of it
    are likely waiting."""
    taken = Counter(d.endpoint_id for d in due)
    return any(count >= share for count in taken.values())


def _wanting(endpoints: list[StoredEndpoint], kind: str) -> list[StoredEndpoint]:
    return [e for e in endpoints if e.status != "disabled" and kind in e.kinds]


async def _expiring(
    runtime: Runtime, conn: Connection, endpoints: list[StoredEndpoint], now: datetime
) -> list[Any]:
    messages = []
    for e in _wanting(endpoints, "points.expiring"):
        until = now + timedelta(days=e.expiring_days)
        for lot in await store.expiring_lots(conn, now, until):
            member, at = lot.member_id, lot.expires_at
            messages.append(
                {
                    "message_id": message_id("points.expiring", e.endpoint_id, member, at),
                    "member_id": member,
                    "kind": "points.expiring",
                    "endpoint_id": e.endpoint_id,
                    "payload": {"member_id": member, "points": lot.points, "expires_at": at},
                    "created_at": now,
                }
            )
    return messages


async def _at_risk(
    runtime: Runtime, conn: Connection, endpoints: list[StoredEndpoint], now: datetime
) -> list[Any]:
    wanting = _wanting(endpoints, "streak.at_risk")
    if not wanting:
        return []
    try:
        ruleset = runtime.rules.current
    except NoActiveRuleset:
        return []
    streaks = {s.id: s for s in ruleset.streaks}
    since = (now - timedelta(days=9)).date()
    messages = []
    for row in await store.streak_candidates(conn, since):
        streak = streaks.get(row.streak_id)
        if streak is None:
            continue
        tz = row.timezone or ruleset.program.timezone
        step = timedelta(days=7 if streak.unit == "week" else 1)
        current = unit_of(streak.unit, now, tz)
        if row.last_unit != current - step:
            continue  # done already in this unit, or broken before it
        ends = _unit_end(current + step, tz)
        for e in wanting:
            if not now < ends <= now + timedelta(hours=e.at_risk_hours):
                continue
            member = row.member_id
            subject = (e.endpoint_id, member, streak.id, current)
            messages.append(
                {
                    "message_id": message_id("streak.at_risk", *subject),
                    "member_id": member,
                    "kind": "streak.at_risk",
                    "endpoint_id": e.endpoint_id,
                    "payload": {
                        "member_id": member,
                        "streak_id": streak.id,
                        "streak_name": streak.name,
                        "length": row.length,
                        "last_unit": row.last_unit,
                        "ends_at": ends,
                        "timezone": tz,
                    },
                    "created_at": now,
                }
            )
    return messages


def _unit_end(next_unit: date, tz: str) -> datetime:
    """The instant the next unit begins on the wall clock of `tz` (its local midnight)."""
    local = datetime(next_unit.year, next_unit.month, next_unit.day, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC)


async def find_time_driven(runtime: Runtime) -> int:
    """Store the time-driven messages due now that were not stored before; how many."""
    now = runtime.clock.now()
    async with runtime.db.transaction() as conn:
        endpoints = await store.endpoints(conn)
        messages = [
            *await _expiring(runtime, conn, endpoints, now),
            *await _at_risk(runtime, conn, endpoints, now),
        ]
        return await store.insert_time_messages(conn, messages)


_PRUNE_BATCH = 5_000
_PRUNE_BATCHES = 20
"""At most 100,000 messages removed per scan (a transaction per batch): a backlog of old
messages, after an upgrade, is worked off over several scans rather than in one long one."""


async def prune_delivered(runtime: Runtime, *, keep_days: int) -> int:
    """Remove the messages written more than `keep_days` ago (0: none) whose every delivery
    was delivered, with their deliveries; how many."""
    if keep_days <= 0:
        return 0
    before = runtime.clock.now() - timedelta(days=keep_days)
    removed = 0
    for _ in range(_PRUNE_BATCHES):
        async with runtime.db.transaction(plan_each_call=True) as conn:
            batch = await store.prune_delivered(conn, before, _PRUNE_BATCH)
        removed += batch
        if batch < _PRUNE_BATCH:
            break
    return removed


async def run_webhooks(
    runtime: Runtime,
    interval: float,
    stop: asyncio.Event,
    *,
    settings: Settings,
    metrics: Metrics | None,
) -> None:
    """Delivery passes until `stop` is set: at once again after a full batch, else every
    `interval` seconds; the time-driven search, and the removal of messages older than
    LOYALTY_WEBHOOK_KEEP_DAYS, every LOYALTY_WEBHOOK_SCAN_SECONDS. Errors are logged, never
    fatal."""
    scan_every = settings.webhook_scan_seconds
    next_scan = 0.0
    async with new_client(settings) as client:
        while not stop.is_set():
            busy = False
            try:
                if time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + scan_every
                    await find_time_driven(runtime)
                    await prune_delivered(runtime, keep_days=settings.webhook_keep_days)
                result = await run_delivery_pass(
                    runtime, client, settings=settings, metrics=metrics
                )
                # a full share leaves more due: on at once; a smaller one drained what was due,
                # so wait: a pass per interval costs a handful of statements however many it
                # sends, where passes back to back would cost them per message or two
                busy = result.full and result.delivered > 0
            except Exception:
                logger.exception("webhook pass failed; retrying")
            if busy:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
