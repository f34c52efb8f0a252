"""The pipeline's save: every row a decision produced, in one statement, then the shared
leaderboard histogram counters in a second (last, because other members' events wait on them).

Each table's rows travel as one JSON parameter that `json_to_recordset` turns back into rows
(column types from `store/tables.py`), written by one data-modifying CTE per table: the number
of statements does not grow with the number of events or members. A table with no rows costs
one empty CTE. Rows arrive final (a lot's remaining points, a balance, a challenge window) or,
where the load may not have read the row, as amounts to add (tier metric days).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from service.decide.rows import Rows
from service.store.boards import apply_bucket_changes
from service.store.database import Connection
from service.store.tables import (
    adjustments,
    balances,
    board_scores,
    challenge_progress,
    coupon_codes,
    engagement_history,
    events,
    experiment_exposures,
    ledger_entries,
    lots,
    member_badge_levels,
    member_badges,
    member_counters,
    member_engagement,
    member_streaks,
    member_tiers,
    members,
    orders,
    redemptions,
    referrals,
    rule_budgets,
    rule_usage,
    streak_units,
    tier_history,
    tier_metric_days,
)

__all__ = ["CodeTaken", "apply_histogram", "save_rows"]

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _recordset(table: Table, columns: Sequence[str], param: int) -> str:
    defs = ", ".join(f'"{c}" {table.c[c].type.compile(dialect=_DIALECT)}' for c in columns)
    return f"json_to_recordset(${param}::json) AS x({defs})"


def _insert(table: Table, columns: Sequence[str], param: int, conflict: str = "") -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    selected = ", ".join(f'x."{c}"' for c in columns)
    return (
        f"INSERT INTO {table.name} AS t ({names}) SELECT {selected} "
        f"FROM {_recordset(table, columns, param)} {conflict}"
    )


def _upsert(
    table: Table, columns: Sequence[str], key: Sequence[str], param: int, **set_: str
) -> str:
    assignments = ", ".join(f'"{c}" = {expr}' for c, expr in set_.items())
    keys = ", ".join(f'"{c}"' for c in key)
    return _insert(table, columns, param, f"ON CONFLICT ({keys}) DO UPDATE SET {assignments}")


def _excluded(*columns: str) -> dict[str, str]:
    return {c: f'excluded."{c}"' for c in columns}


def _columns(table: Table, *skip: str) -> list[str]:
    return [c.name for c in table.columns if c.name not in skip and c.computed is None]


_LOT_COLUMNS = _columns(lots)
_ENTRY_COLUMNS = _columns(ledger_entries, "recorded_at")
_BALANCE_COLUMNS = _columns(balances, "updated_at")
_TIER_COLUMNS = _columns(member_tiers, "updated_at")
_CODE_COLUMNS = ("reward_id", "code", "member_id", "redemption_id", "issued_at")

# (Rows field, SQL of its CTE with `{p}` the parameter number)
_WRITES: list[tuple[str, str]] = [
    ("events", _insert(events, _columns(events, "seq"), 0)),
    (
        "counters",
        _upsert(
            member_counters,
            _columns(member_counters),
            ("member_id", "event_type"),
            0,
            **_excluded("count", "last_at"),
        ),
    ),
    (
        "lots",
        _upsert(lots, _LOT_COLUMNS, ("member_id", "lot_id"), 0, **_excluded("remaining", "state")),
    ),
    ("entries", _insert(ledger_entries, _ENTRY_COLUMNS, 0)),
    (
        "balances",
        _upsert(
            balances,
            _BALANCE_COLUMNS,
            ("member_id",),
            0,
            **_excluded(*(c for c in _BALANCE_COLUMNS if c != "member_id")),
            updated_at="now()",
        ),
    ),
    (
        "orders",
        _upsert(
            orders,
            _columns(orders),
            ("member_id", "order_id"),
            0,
            **_excluded("refunded_amount", "points_reversed"),
        ),
    ),
    (
        "usage",
        _upsert(
            rule_usage,
            _columns(rule_usage),
            ("member_id", "rule_id", "period_key"),
            0,
            **_excluded("times", "points"),
        ),
    ),
    (
        "budgets",
        f"UPDATE rule_budgets AS t SET spent = x.spent "
        f"FROM {_recordset(rule_budgets, ('rule_id', 'spent'), 0)} WHERE t.rule_id = x.rule_id",
    ),
    (
        "badges",
        _upsert(
            member_badges,
            _columns(member_badges),
            ("member_id", "badge_id"),
            0,
            level="greatest(t.level, excluded.level)",
        ),
    ),
    (
        "badge_levels",
        _insert(member_badge_levels, _columns(member_badge_levels), 0, "ON CONFLICT DO NOTHING"),
    ),
    (
        "challenges",
        _upsert(
            challenge_progress,
            _columns(challenge_progress),
            ("member_id", "challenge_id", "window_key"),
            0,
            **_excluded("step", "progress", "completed_at"),
        ),
    ),
    ("streak_units", _insert(streak_units, _columns(streak_units), 0, "ON CONFLICT DO NOTHING")),
    (
        "streaks",
        _upsert(
            member_streaks,
            _columns(member_streaks),
            ("member_id", "streak_id"),
            0,
            longest="greatest(t.longest, excluded.longest)",
            **_excluded("run_start", "rewarded"),
        ),
    ),
    (
        "attributes",
        f"UPDATE members AS t SET attributes = x.attributes, updated_at = now() "
        f"FROM {_recordset(members, ('member_id', 'attributes'), 0)} "
        f"WHERE t.member_id = x.member_id",
    ),
    (
        "metrics",
        _upsert(
            tier_metric_days,
            _columns(tier_metric_days),
            ("member_id", "metric", "day"),
            0,
            value="t.value + excluded.value",
        ),
    ),
    (
        "tiers",
        _upsert(
            member_tiers,
            _TIER_COLUMNS,
            ("member_id",),
            0,
            **_excluded("tier", "since", "held_until"),
            updated_at="now()",
        ),
    ),
    ("tier_moves", _insert(tier_history, _columns(tier_history), 0)),
    (
        "engagement",
        _upsert(
            member_engagement,
            _columns(member_engagement),
            ("member_id",),
            0,
            **_excluded("level", "since", "seq", "drops_at"),
        ),
    ),
    ("engagement_moves", _insert(engagement_history, _columns(engagement_history), 0)),
    ("exposures", _insert(experiment_exposures, _columns(experiment_exposures), 0)),
    (
        "referrals",
        _upsert(
            referrals,
            _columns(referrals),
            ("member_id",),
            0,
            **_excluded(*(c for c in _columns(referrals) if c != "member_id")),
        ),
    ),
    (
        "redemptions",
        _upsert(
            redemptions,
            _columns(redemptions, "seq", "settled_seq"),
            ("member_id", "redemption_id"),
            0,
            **_excluded("status", "settled_at", "coupon_code"),
            # a hold's settlement (commit, cancel, timeout) is an operation of its own
            settled_seq="CASE WHEN excluded.status <> t.status "
            "THEN nextval('decision_seq') ELSE t.settled_seq END",
        ),
    ),
    ("adjustments", _insert(adjustments, _columns(adjustments, "seq"), 0)),
    (
        "stock",
        "UPDATE reward_stock AS t SET issued = greatest(t.issued + x.delta, 0) "
        "FROM json_to_recordset($0::json) AS x(reward_id text, delta integer) "
        "WHERE t.reward_id = x.reward_id",
    ),
    (
        "code_claims",
        "UPDATE coupon_codes AS t SET member_id = x.member_id, "
        "redemption_id = x.redemption_id, issued_at = x.issued_at "
        f"FROM {_recordset(coupon_codes, _CODE_COLUMNS, 0)} "
        "WHERE t.reward_id = x.reward_id AND t.code = x.code AND t.member_id IS NULL",
    ),
    (
        "code_returns",
        "UPDATE coupon_codes AS t SET member_id = NULL, redemption_id = NULL, issued_at = NULL "
        f"FROM {_recordset(coupon_codes, ('reward_id', 'code', 'redemption_id'), 0)} "
        "WHERE t.reward_id = x.reward_id AND t.code = x.code "
        "AND t.redemption_id = x.redemption_id",
    ),
    (
        "generated_codes",
        _insert(coupon_codes, _CODE_COLUMNS, 0, "ON CONFLICT DO NOTHING RETURNING t.code"),
    ),
    (
        "board_scores",
        _upsert(
            board_scores,
            _columns(board_scores),
            ("member_id", "board_id", "period_key", "segment"),
            0,
            **_excluded("score", "reached_at"),
        ),
    ),
]


_WANTED = "SELECT 1 FROM webhook_endpoints e WHERE e.status <> 'disabled' AND x.kind = ANY(e.kinds)"
# Outbox messages are kept only when an endpoint (active or paused) wants their kind, and each
# gets one delivery per such endpoint, in the same statement (so in the same transaction). The
# rows are numbered (`seq`) in the order they are listed, a member's in the order they happened.
_WRITES.append(
    (
        "webhooks",
        "INSERT INTO webhook_messages AS t (message_id, member_id, kind, payload, created_at) "
        "SELECT x.message_id, x.member_id, x.kind, x.payload, x.created_at "
        "FROM json_to_recordset($0::json) AS x(message_id text, member_id text, kind text, "
        f"payload jsonb, created_at timestamptz) WHERE EXISTS ({_WANTED}) "
        "ON CONFLICT DO NOTHING "
        "RETURNING t.message_id, t.member_id, t.kind, t.seq, t.created_at",
    )
)
_FOLLOW_UPS = {
    "webhooks": (
        "w_webhook_deliveries AS (INSERT INTO webhook_deliveries (endpoint_id, message_id, "
        "member_id, seq, created_at, retry_from, next_attempt_at) "
        "SELECT e.endpoint_id, m.message_id, m.member_id, m.seq, m.created_at, m.created_at, "
        "m.created_at FROM w_webhooks m JOIN webhook_endpoints e "
        "ON e.status <> 'disabled' AND m.kind = ANY(e.kinds) ON CONFLICT DO NOTHING)"
    )
}


def _numbered(sql: str, param: int) -> str:
    return sql.replace("$0::json", f"${param}::json")


# The program's daily figures (service.decide.rollups), in one INSERT so that the shared counter
# rows are locked in one order (sorted) by every set: the amounts the decision computed ($0),
# and the active members the save finds from the set's (member, local day) pairs ($1). A day new
# for a member counts them active that day; with no other day of theirs in its week (month) as
# stored before this statement, that week (month) too; their first day ever fixes their cohort.
_ROLLUPS = """w_active AS (
  INSERT INTO member_active_days AS t (member_id, day)
  SELECT x.member_id, x.day FROM json_to_recordset($1::json) AS x(member_id text, day date)
  ON CONFLICT DO NOTHING RETURNING t.member_id, t.day
), w_active_weeks AS (
  SELECT DISTINCT a.member_id, date_trunc('week', a.day)::date AS week FROM w_active a
  WHERE NOT EXISTS (SELECT 1 FROM member_active_days d WHERE d.member_id = a.member_id
    AND d.day >= date_trunc('week', a.day)::date AND d.day < date_trunc('week', a.day)::date + 7)
), w_active_months AS (
  SELECT DISTINCT a.member_id, date_trunc('month', a.day)::date AS month FROM w_active a
  WHERE NOT EXISTS (SELECT 1 FROM member_active_days d WHERE d.member_id = a.member_id
    AND d.day >= date_trunc('month', a.day)::date
    AND d.day < (date_trunc('month', a.day) + interval '1 month')::date)
), w_cohorts AS (
  INSERT INTO member_cohorts AS t (member_id, week)
  SELECT a.member_id, min(date_trunc('week', a.day))::date FROM w_active a
  GROUP BY a.member_id ON CONFLICT DO NOTHING RETURNING t.member_id, t.week
), w_rollups AS (
  INSERT INTO program_rollups AS t (metric, day, key, shard, value)
  SELECT f.metric, f.day, f.key, $2::smallint, sum(f.value) FROM (
    SELECT x.metric, x.day, x.key, x.value
    FROM json_to_recordset($0::json) AS x(metric text, day date, key text, value numeric)
    UNION ALL SELECT 'active_day', a.day, '', 1 FROM w_active a
    UNION ALL SELECT 'active_week', w.week, '', 1 FROM w_active_weeks w
    UNION ALL SELECT 'active_month', m.month, '', 1 FROM w_active_months m
    UNION ALL SELECT 'cohort_members', c.week, '', 1 FROM w_cohorts c
    UNION ALL SELECT 'cohort_active', w.week, coalesce(c.week, n.week)::text, 1
    FROM w_active_weeks w LEFT JOIN member_cohorts c ON c.member_id = w.member_id
    LEFT JOIN w_cohorts n ON n.member_id = w.member_id
    WHERE coalesce(c.week, n.week) <= w.week
  ) f GROUP BY f.metric, f.day, f.key ORDER BY f.metric, f.day, f.key
  ON CONFLICT (metric, day, key, shard) DO UPDATE SET value = t.value + excluded.value
  RETURNING 1
)"""


def _rollups_sql(first: int) -> str:
    return (
        _ROLLUPS.replace("$0::json", f"${first}::json")
        .replace("$1::json", f"${first + 1}::json")
        .replace("$2::smallint", f"${first + 2}::smallint")
    )


_HISTOGRAM = (
    "INSERT INTO board_buckets AS t (board_id, period_key, segment, level, bucket, shard, "
    "members) SELECT x.board_id, x.period_key, x.segment, x.level, x.bucket, x.shard, x.members "
    "FROM json_to_recordset($0::json) AS x(board_id text, period_key text, segment text, "
    "level smallint, bucket integer, shard integer, members bigint) "
    "ON CONFLICT (board_id, period_key, segment, level, bucket, shard) DO UPDATE "
    "SET members = t.members + excluded.members RETURNING 1"
)
_STATEMENTS = dict(_WRITES)
_FIELDS = [name for name, _ in _WRITES]

FOLD_HISTOGRAM_UP_TO = 16
"""Sets of up to this many events write the shared histogram counters in the same statement
as the rest (one round trip less); larger sets write them last, in a statement of their own,
so that the counter rows, which other members' events wait on, stay locked only until commit."""


@functools.lru_cache(maxsize=512)
def _save_sql(fields: tuple[str, ...], rollups: bool, histogram: bool) -> str:
    """The save statement for the tables that have rows (one CTE each), then the shared
    counters: the rollups, then the histogram (every set locks shared rows in this order)."""
    parts = [f"w_{name} AS ({_numbered(_STATEMENTS[name], n)})" for n, name in enumerate(fields, 1)]
    parts.extend(_FOLLOW_UPS[name] for name in fields if name in _FOLLOW_UPS)
    after = len(fields) + 1
    if rollups:
        parts.append(_rollups_sql(after))
        after += 3
    if histogram:
        parts.append(f"w_histogram AS ({_numbered(_HISTOGRAM, after)})")
    ctes = ",\n".join(parts)
    counted = "(SELECT count(*) FROM w_generated_codes)" if "generated_codes" in fields else "0"
    # the shared counters are read by the outer query, so that they are written in this order
    # (rollups, then histogram) and not in the order the executor would pick for CTEs no one
    # reads: a large set writes them in the same order, in two statements
    shared = [
        f"(SELECT count(*) FROM w_{n})"
        for n, on in (("rollups", rollups), ("histogram", histogram))
        if on
    ]
    return f"WITH {ctes}\nSELECT {counted} AS generated" + "".join(f", {x}" for x in shared)


class CodeTaken(Exception):
    """A generated coupon code was issued by another redemption first: draw another."""


async def save_rows(conn: Connection, rows: Rows) -> None:
    """Write the rows in one statement (nothing when there is none), the histogram's too for a
    small set (`apply_histogram` writes them otherwise); CodeTaken (the transaction must be
    rolled back) when a generated code already exists."""
    fields = tuple(name for name in _FIELDS if getattr(rows, name))
    histogram = bool(rows.histogram) and len(rows.events) <= FOLD_HISTOGRAM_UP_TO
    rollups = bool(rows.rollups or rows.activity)
    if not fields and not rollups and not histogram:
        return
    params: list[Any] = [getattr(rows, name) for name in fields]
    if rollups:
        params.extend([rows.rollups, rows.activity, rows.rollup_shard])
    if histogram:
        params.append(rows.histogram)
    generated = await conn.raw.fetchval(_save_sql(fields, rollups, histogram), *params)
    if generated != len(rows.generated_codes):
        raise CodeTaken


async def apply_histogram(conn: Connection, rows: Rows) -> None:
    """Add the leaderboard score moves to the histogram counters (sorted: no deadlocks), for a
    set whose save did not (`FOLD_HISTOGRAM_UP_TO`)."""
    if rows.histogram and len(rows.events) > FOLD_HISTOGRAM_UP_TO:
        await apply_bucket_changes(conn, rows.histogram)
