"""Webhook endpoints, the outbox and deliveries: the SQL.

Deliveries are taken with `FOR UPDATE SKIP LOCKED`, a member's in order: a pass locks the
first pending delivery of each (endpoint, member) lane it takes and then that lane's next ones;
another replica's pass sees the lane's first delivery still pending (and locked), so it takes
nothing of that lane until the first pass commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

import msgspec

from service.store.database import Connection

__all__ = [
    "DeliveryStats",
    "DeliveryStatus",
    "DueDelivery",
    "EndpointStatus",
    "ExpiringPoints",
    "StoredDelivery",
    "StoredEndpoint",
    "StreakCandidate",
    "dead_letter_disabled",
    "delete_endpoint",
    "delivery_stats",
    "delivery_status",
    "endpoint",
    "endpoints",
    "expiring_lots",
    "insert_endpoint",
    "insert_time_messages",
    "list_deliveries",
    "mark_endpoints",
    "prune_delivered",
    "record_attempts",
    "redeliver",
    "rotate_secret",
    "set_status",
    "streak_candidates",
    "take_due",
    "update_endpoint",
]

_ENDPOINT_COLUMNS = (
    "endpoint_id, url, description, kinds, expiring_days, at_risk_hours, status, "
    "disabled_reason, secret, previous_secret, previous_secret_until, failing_since, "
    "created_at, updated_at"
)


EndpointStatus = Literal["active", "paused", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "dead"]


class StoredEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """An endpoint as stored (`_ENDPOINT_COLUMNS`), with its signing secrets."""

    endpoint_id: str
    url: str
    description: str
    kinds: list[str]
    expiring_days: int
    at_risk_hours: int
    status: EndpointStatus
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


def _endpoint(row: Any) -> StoredEndpoint | None:
    return None if row is None else StoredEndpoint(**row)


class StoredDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One delivery of a message to an endpoint, with the message's kind."""

    message_id: str
    member_id: str
    seq: int
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    kind: str


class ExpiringPoints(msgspec.Struct, frozen=True, kw_only=True):
    """A member's points that expire at one moment."""

    member_id: str
    expires_at: datetime
    points: int


class StreakCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A member's streak run with its latest unit and its length, in the member's time zone."""

    member_id: str
    streak_id: str
    run_start: date
    last_unit: date
    length: int
    timezone: str | None


class DeliveryStats(msgspec.Struct, frozen=True, kw_only=True):
    """Pending deliveries, dead letters, and how long the oldest pending one has waited (s)."""

    queued: int
    dead: int
    lag: float


async def insert_endpoint(conn: Connection, row: dict[str, Any]) -> None:
    """Store a new endpoint."""
    await conn.raw.execute(
        "INSERT INTO webhook_endpoints (endpoint_id, url, description, kinds, expiring_days, "
        "at_risk_hours, status, secret, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $8)",
        row["endpoint_id"],
        row["url"],
        row["description"],
        row["kinds"],
        row["expiring_days"],
        row["at_risk_hours"],
        row["secret"],
        row["created_at"],
    )


async def endpoints(conn: Connection) -> list[StoredEndpoint]:
    """Every endpoint, oldest first."""
    rows = await conn.raw.fetch(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, endpoint_id"
    )
    return [StoredEndpoint(**row) for row in rows]


async def endpoint(
    conn: Connection, endpoint_id: str, *, lock: bool = False
) -> StoredEndpoint | None:
    """One endpoint, or None."""
    suffix = " FOR UPDATE" if lock else ""
    return _endpoint(
        await conn.raw.fetchrow(
            f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE endpoint_id = $1{suffix}",
            endpoint_id,
        )
    )


async def update_endpoint(
    conn: Connection, endpoint_id: str, changes: dict[str, Any], now: datetime
) -> StoredEndpoint | None:
    """Change some of an endpoint's fields (names from this module's columns); the new row.
    A changed endpoint is tried at the next pass (its wait, if failing, is cleared)."""
    allowed = {"url", "description", "kinds", "expiring_days", "at_risk_hours"}
    assert set(changes) <= allowed, changes
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, 3))
    sets = f"{assignments}, updated_at = $2" if assignments else "updated_at = $2"
    sets += ", retry_at = NULL"
    row = await conn.raw.fetchrow(
        f"UPDATE webhook_endpoints SET {sets} WHERE endpoint_id = $1 RETURNING {_ENDPOINT_COLUMNS}",
        endpoint_id,
        now,
        *(changes[name] for name in names),
    )
    return _endpoint(row)


async def set_status(
    conn: Connection, endpoint_id: str, status: str, now: datetime
) -> StoredEndpoint | None:
    """Pause, or (re)activate an endpoint: activating clears why it was disabled, its
    failure clock and its wait (it is tried at the next pass). The new row, or None."""
    return _endpoint(
        await conn.raw.fetchrow(
            "UPDATE webhook_endpoints SET status = $2, updated_at = $3, retry_at = NULL, "
            "disabled_reason = CASE WHEN $2 = 'active' THEN NULL ELSE disabled_reason END, "
            "failing_since = CASE WHEN $2 = 'active' THEN NULL ELSE failing_since END "
            f"WHERE endpoint_id = $1 RETURNING {_ENDPOINT_COLUMNS}",
            endpoint_id,
            status,
            now,
        )
    )


async def rotate_secret(
    conn: Connection, endpoint_id: str, secret: str, previous_until: datetime, now: datetime
) -> StoredEndpoint | None:
    """Sign with `secret` from now on, and with the old one too until `previous_until`."""
    return _endpoint(
        await conn.raw.fetchrow(
            "UPDATE webhook_endpoints SET previous_secret = secret, secret = $2, "
            "previous_secret_until = $3, updated_at = $4 "
            f"WHERE endpoint_id = $1 RETURNING {_ENDPOINT_COLUMNS}",
            endpoint_id,
            secret,
            previous_until,
            now,
        )
    )


async def delete_endpoint(conn: Connection, endpoint_id: str) -> bool:
    """Delete an endpoint with its deliveries and its own (time-driven) messages."""
    gone = await conn.raw.execute(
        "DELETE FROM webhook_endpoints WHERE endpoint_id = $1", endpoint_id
    )
    await conn.raw.execute("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", endpoint_id)
    await conn.raw.execute("DELETE FROM webhook_messages WHERE endpoint_id = $1", endpoint_id)
    return str(gone) != "DELETE 0"


async def list_deliveries(
    conn: Connection, endpoint_id: str, status: str | None, before_seq: int | None, limit: int
) -> list[StoredDelivery]:
    """An endpoint's deliveries, newest first, optionally of one status and older than a seq."""
    rows = await conn.raw.fetch(
        "SELECT d.message_id, d.member_id, d.seq, d.status, d.attempts, d.created_at, "
        "d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, "
        "d.delivered_at, m.kind FROM webhook_deliveries d "
        "JOIN webhook_messages m ON m.message_id = d.message_id "
        "WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.status = $2) "
        "AND ($3::bigint IS NULL OR d.seq < $3) ORDER BY d.seq DESC LIMIT $4",
        endpoint_id,
        status,
        before_seq,
        limit,
    )
    return [StoredDelivery(**row) for row in rows]


async def redeliver(
    conn: Connection, endpoint_id: str, message_id: str | None, now: datetime
) -> int:
    """Put dead letters (one, or all of the endpoint's) back in line, to be tried at once and
    for another retry period. How many."""
    tag = await conn.raw.execute(
        "UPDATE webhook_deliveries SET status = 'pending', retry_from = $3, next_attempt_at = $3 "
        "WHERE endpoint_id = $1 AND status = 'dead' AND ($2::text IS NULL OR message_id = $2)",
        endpoint_id,
        message_id,
        now,
    )
    await conn.raw.execute(
        "UPDATE webhook_endpoints SET retry_at = NULL WHERE endpoint_id = $1", endpoint_id
    )
    return int(str(tag).split()[-1])


async def delivery_status(conn: Connection, endpoint_id: str, message_id: str) -> str | None:
    """The status of one delivery, or None."""
    status = await conn.raw.fetchval(
        "SELECT status FROM webhook_deliveries WHERE endpoint_id = $1 AND message_id = $2",
        endpoint_id,
        message_id,
    )
    return None if status is None else str(status)


class DueDelivery:
    """A delivery taken by a pass, with its message and where it goes (`row_id`: its row's
    place, which the pass's lock on it keeps until the pass records what came of it)."""

    __slots__ = (
        "attempts",
        "created_at",
        "endpoint_id",
        "kind",
        "member_id",
        "message_id",
        "next_attempt_at",
        "payload",
        "retry_from",
        "row_id",
        "seq",
    )

    def __init__(self, row: Any) -> None:
        self.endpoint_id: str = row["endpoint_id"]
        self.message_id: str = row["message_id"]
        self.member_id: str = row["member_id"]
        self.seq: int = row["seq"]
        self.attempts: int = row["attempts"]
        self.retry_from: datetime = row["retry_from"]
        self.next_attempt_at: datetime = row["next_attempt_at"]
        self.kind: str = row["kind"]
        self.payload: Any = row["payload"]
        self.created_at: datetime = row["created_at"]
        self.row_id: tuple[int, int] = row["row_id"]


_LANE_OF = "{0}.endpoint_id || ' ' || {0}.member_id"
"""A delivery's lane as one key, which only the lane index serves (endpoint ids have no space):
with the queue's own index leading with endpoint_id, equalities on the two columns let the
planner read the endpoint's whole queue per lane when its statistics are stale (11.6 s for 500
of 14,000 pending, measured)."""

_HEADS = f"""
SELECT h.endpoint_id, h.member_id, h.seq
  FROM webhook_endpoints e
 CROSS JOIN LATERAL (
   SELECT d.endpoint_id, d.member_id, d.seq FROM webhook_deliveries d
    WHERE d.endpoint_id = e.endpoint_id AND d.status = 'pending' AND d.next_attempt_at <= $1
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p
         WHERE {_LANE_OF.format("p")} = {_LANE_OF.format("d")}
           AND p.status = 'pending' AND p.seq < d.seq)
    ORDER BY d.seq LIMIT $2
    FOR UPDATE OF d SKIP LOCKED) h
 WHERE e.status = 'active' AND (e.retry_at IS NULL OR e.retry_at <= $1)
"""
# Each active endpoint's own pending deliveries, in seq order on its index: a paused endpoint's
# backlog is not read at all, nor that of an endpoint left alone until its retry_at.

_LANES = f"""
SELECT d.ctid AS row_id, d.endpoint_id, d.message_id, d.member_id, d.seq, d.attempts,
       d.retry_from, d.next_attempt_at, m.kind, m.payload, m.created_at
  FROM unnest($1::text[], $2::text[], $3::bigint[]) AS h(endpoint_id, member_id, seq)
  JOIN webhook_deliveries d ON {_LANE_OF.format("d")} = {_LANE_OF.format("h")}
   AND d.status = 'pending' AND d.seq >= h.seq
  CROSS JOIN LATERAL (
   SELECT m.kind, m.payload, m.created_at FROM webhook_messages m
    WHERE m.message_id = d.message_id LIMIT 1) m
 ORDER BY d.seq LIMIT $4
 FOR UPDATE OF d
"""
# Each delivery's message by its key (the LIMIT keeps the planner from making it a join, which
# with the queue's statistics stale it did as a hash of the whole outbox: 35 ms per pass at
# 16,000 messages, against a key lookup per delivery).


async def take_due(
    conn: Connection, now: datetime, limit: int, per_endpoint: int
) -> list[DueDelivery]:
    """Lock the first due delivery of up to `per_endpoint` lanes of each active endpoint no
    other pass holds, then the lanes' next pending ones (in `seq` order, up to `limit` in all,
    at least one per lane); in a transaction whose statements are planned on every call
    (`Database.transaction(plan_each_call=True)`: the queue's sizes swing). A lane is to be
    sent up to its first delivery that is not due yet."""
    heads = await conn.raw.fetch(_HEADS, now, per_endpoint)
    if not heads:
        return []
    rows = await conn.raw.fetch(
        _LANES,
        [h["endpoint_id"] for h in heads],
        [h["member_id"] for h in heads],
        [h["seq"] for h in heads],
        max(limit, len(heads)),
    )
    return [DueDelivery(r) for r in rows]


async def record_attempts(conn: Connection, attempts: Sequence[dict[str, Any]]) -> None:
    """Write what the pass's attempts came to, in one statement, to the rows `take_due`
    locked in this transaction (found by their place, `row_id`: a key lookup per row would
    read the primary key's pages again)."""
    if not attempts:
        return
    columns = (
        ("row_id", "tid"),
        ("status", "text"),
        ("attempts", "int"),
        ("next_attempt_at", "timestamptz"),
        ("last_attempt_at", "timestamptz"),
        ("last_status_code", "int"),
        ("last_error", "text"),
        ("delivered_at", "timestamptz"),
    )
    arrays = ", ".join(f"${n}::{t}[]" for n, (_, t) in enumerate(columns, 1))
    names = ", ".join(c for c, _ in columns)
    await conn.raw.execute(
        "UPDATE webhook_deliveries AS d SET status = x.status, attempts = x.attempts, "
        "next_attempt_at = x.next_attempt_at, last_attempt_at = x.last_attempt_at, "
        "last_status_code = x.last_status_code, last_error = x.last_error, "
        f"delivered_at = x.delivered_at FROM unnest({arrays}) AS x({names}) "
        "WHERE d.ctid = x.row_id",
        *([a[c] for a in attempts] for c, _ in columns),
    )


async def mark_endpoints(
    conn: Connection, succeeded: list[str], failed: dict[str, datetime | None], now: datetime
) -> None:
    """An endpoint that answered once is healthy; one that only failed starts (or keeps) its
    failure clock, and passes leave it alone until its earliest retry (`failed`'s value;
    None: none to wait for)."""
    if succeeded:
        await conn.raw.execute(
            "UPDATE webhook_endpoints SET failing_since = NULL, retry_at = NULL "
            "WHERE endpoint_id = ANY($1::text[]) "
            "AND (failing_since IS NOT NULL OR retry_at IS NOT NULL)",
            succeeded,
        )
    if failed:
        await conn.raw.execute(
            "UPDATE webhook_endpoints AS e SET failing_since = coalesce(e.failing_since, $3), "
            "retry_at = x.retry_at FROM unnest($1::text[], $2::timestamptz[]) "
            "AS x(endpoint_id, retry_at) WHERE e.endpoint_id = x.endpoint_id",
            list(failed),
            list(failed.values()),
            now,
        )


async def dead_letter_disabled(
    conn: Connection, failing_before: datetime, now: datetime, reasons: dict[str, str]
) -> list[str]:
    """Disable the active endpoints failing since before `failing_before` (the reason says
    since when and the last error) and dead-letter their pending deliveries; their ids."""
    rows = await conn.raw.fetch(
        "UPDATE webhook_endpoints SET status = 'disabled', updated_at = $2, "
        "disabled_reason = 'failing since ' || to_char(failing_since AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') || ' (longer than the retry period); last: ' "
        "|| coalesce(($3::jsonb) ->> endpoint_id, 'no answer') "
        "WHERE status = 'active' AND failing_since <= $1 RETURNING endpoint_id",
        failing_before,
        now,
        reasons,
    )
    disabled = [r["endpoint_id"] for r in rows]
    if disabled:
        await conn.raw.execute(
            "UPDATE webhook_deliveries SET status = 'dead' "
            "WHERE endpoint_id = ANY($1::text[]) AND status = 'pending'",
            disabled,
        )
    return disabled


async def insert_time_messages(conn: Connection, messages: Sequence[Any]) -> int:
    """Store an endpoint's time-driven messages with their deliveries; a message already
    stored (same id: the same moment told before) is not stored or sent again. How many new."""
    if not messages:
        return 0
    count = await conn.raw.fetchval(
        """
        WITH m AS (
          INSERT INTO webhook_messages AS t (message_id, member_id, kind, endpoint_id, payload,
                                             created_at)
          SELECT x.message_id, x.member_id, x.kind, x.endpoint_id, x.payload, x.created_at
            FROM json_to_recordset($1::json) AS x(message_id text, member_id text, kind text,
                 endpoint_id text, payload jsonb, created_at timestamptz)
          ON CONFLICT DO NOTHING
          RETURNING t.message_id, t.member_id, t.endpoint_id, t.seq, t.created_at),
        d AS (
          INSERT INTO webhook_deliveries (endpoint_id, message_id, member_id, seq, created_at,
                                          retry_from, next_attempt_at)
          SELECT m.endpoint_id, m.message_id, m.member_id, m.seq, m.created_at, m.created_at,
                 m.created_at FROM m
          RETURNING 1)
        SELECT count(*) FROM d
        """,
        list(messages),
    )
    return int(count)


async def expiring_lots(conn: Connection, now: datetime, until: datetime) -> list[ExpiringPoints]:
    """Points that expire after `now` and by `until`, per member and moment of expiry."""
    rows = await conn.raw.fetch(
        "SELECT member_id, expires_at, sum(remaining)::bigint AS points FROM lots "
        "WHERE remaining > 0 AND state <> 'expired' AND expires_at > $1 AND expires_at <= $2 "
        "GROUP BY member_id, expires_at ORDER BY member_id, expires_at",
        now,
        until,
    )
    return [ExpiringPoints(**row) for row in rows]


async def streak_candidates(conn: Connection, since: date) -> list[StreakCandidate]:
    """Streaks whose latest unit is `since` or later."""
    rows = await conn.raw.fetch(
        "SELECT s.member_id, s.streak_id, s.run_start, max(u.unit) AS last_unit, "
        "count(*) FILTER (WHERE u.unit >= s.run_start) AS length, m.timezone "
        "FROM member_streaks s "
        "JOIN streak_units u ON u.member_id = s.member_id AND u.streak_id = s.streak_id "
        "JOIN members m ON m.member_id = s.member_id "
        "WHERE s.run_start IS NOT NULL "
        "GROUP BY s.member_id, s.streak_id, s.run_start, m.timezone "
        "HAVING max(u.unit) >= $1",
        since,
    )
    return [StreakCandidate(**row) for row in rows]


_WAITING = (
    "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.endpoint_id = d.endpoint_id "
    "AND e.status <> 'paused' WHERE d.status = "
)


async def delivery_stats(conn: Connection, now: datetime) -> DeliveryStats:
    """Pending deliveries (of endpoints that are not paused), dead letters, and how long the
    oldest pending one has waited (seconds). Each part reads its partial index, not the
    record of every delivery made."""
    row = await conn.raw.fetchrow(
        f"SELECT (SELECT count(*) {_WAITING} 'pending') AS queued, "
        f"(SELECT count(*) {_WAITING} 'dead') AS dead, "
        f"coalesce(extract(epoch FROM $1 - (SELECT min(d.created_at) {_WAITING} 'pending')), "
        "0)::float8 AS lag",
        now,
    )
    return DeliveryStats(**row)


_PRUNE = """
WITH done AS (
  SELECT m.seq FROM webhook_messages m
   WHERE m.created_at < $1
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                      WHERE p.endpoint_id = ANY(ARRAY(SELECT endpoint_id FROM webhook_endpoints))
                        AND p.seq = m.seq AND p.status = 'pending')
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries x
                      WHERE x.seq = m.seq AND x.status = 'dead')
   ORDER BY m.seq LIMIT $2),
gone AS (
  DELETE FROM webhook_deliveries d USING done
   WHERE d.seq = done.seq
     AND d.endpoint_id = ANY(ARRAY(SELECT endpoint_id FROM webhook_endpoints))
     AND d.seq BETWEEN (SELECT min(seq) FROM done) AND (SELECT max(seq) FROM done))
DELETE FROM webhook_messages m USING done WHERE m.seq = done.seq
"""
# Deliveries are found by (endpoint, seq range) on the listing index: by seq alone there is
# no index, and reading every delivery ever made grows with the table (138 ms against 22 ms
# for 5,000 of 300,000, measured).


async def prune_delivered(conn: Connection, before: datetime, limit: int) -> int:
    """Remove up to `limit` messages written before `before` whose every delivery was
    delivered (or that have none left), oldest first, with their deliveries; how many. A
    message with a pending delivery or a dead letter stays, whatever its age. In a
    transaction whose statements are planned on every call, as `take_due`'s."""
    tag = await conn.raw.execute(_PRUNE, before, limit)
    return int(str(tag).split()[-1])
