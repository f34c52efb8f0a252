"""SQL for erasure: a member's id replaced by a pseudonym in every table that keeps history,
their profile emptied, their leaderboard rows removed (with the histogram counts they held).

Member ids also appear inside ids this service made: a redemption id ends with the member id
(base64), a released lot's id ends with its redemption id, and a referrer's lot and order ids
name their referee (`referral:<id>`). Those are rewritten the same way, so that the history
reads and replays exactly as if the member had always had the pseudonym. Table names below are
fixed, never input.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.core.boards import BucketChange, bucket_of, group_of, histogram_shard
from service.store.boards import apply_bucket_changes
from service.store.database import Connection

__all__ = ["erased_members", "is_member", "lock_member", "pseudonymise", "record"]

MEMBER_TABLES = (
    "events",
    "balances",
    "lots",
    "ledger_entries",
    "orders",
    "rule_usage",
    "member_counters",
    "member_badges",
    "member_badge_levels",
    "challenge_progress",
    "redemptions",
    "adjustments",
    "member_tiers",
    "tier_history",
    "tier_metric_days",
    "streak_units",
    "member_streaks",
    "referrals",
    "referral_codes",
    "coupon_codes",
)
"""Every table with a `member_id` column but `members` and `board_scores`."""

_SUFFIXED = (
    ("redemptions", "redemption_id"),
    ("ledger_entries", "redemption_id"),
    ("coupon_codes", "redemption_id"),
    ("lots", "lot_id"),
    ("ledger_entries", "lot_id"),
)
"""Columns holding ids that end with the member's redemption-id suffix."""


_ID_CHAR = r"[A-Za-z0-9._:@+\-]"
_INNER_CHAR = r"[A-Za-z0-9_@+\-]"


def _word(member_id: str) -> str:
    """A regular expression (PostgreSQL's) matching the id where it stands alone in a text."""
    escaped = "".join(c if c.isalnum() else "\\" + c for c in member_id)
    # a trailing . or : is punctuation unless an id character follows ("by ann: 250 points")
    return f"(?<!{_ID_CHAR}){escaped}(?!{_INNER_CHAR}|[.:]{_INNER_CHAR})"


async def lock_member(conn: Connection, member_id: str) -> Any:
    """The member's row, locked (None when there is no such member or it was erased)."""
    return await conn.raw.fetchrow(
        "SELECT member_id FROM members WHERE member_id = $1 AND erased_at IS NULL FOR UPDATE",
        member_id,
    )


async def pseudonymise(
    conn: Connection,
    old: str,
    new: str,
    old_suffix: str,
    new_suffix: str,
) -> None:
    """Replace `old` by `new` everywhere (see the module's docstring), empty the profile,
    remove the leaderboard rows. `*_suffix` is how a redemption id ends for each."""
    raw = conn.raw
    # lets the ledger's append-only trigger accept this transaction's id rewrites (only them)
    await raw.execute("SELECT set_config('loyalty.erasure', 'on', true)")
    scores = await raw.fetch(
        "DELETE FROM board_scores WHERE member_id = $1 "
        "RETURNING board_id, period_key, segment, score",
        old,
    )
    shard = histogram_shard(old)
    changes = []
    for r in scores:
        bucket = bucket_of(int(r["score"]))
        for level, slot in ((0, bucket), (1, group_of(bucket))):
            changes.append(
                BucketChange(r["board_id"], r["period_key"], r["segment"], level, slot, shard, -1)
            )
    if changes:
        await apply_bucket_changes(conn, sorted(changes))
    await raw.execute(
        "UPDATE members SET member_id = $2, display_name = NULL, timezone = NULL, "
        "birthday = NULL, attributes = '{}'::jsonb, hidden = true, erased_at = now(), "
        "updated_at = now(), version = version + 1 WHERE member_id = $1",
        old,
        new,
    )
    for table in MEMBER_TABLES:
        await raw.execute(f"UPDATE {table} SET member_id = $2 WHERE member_id = $1", old, new)
    await raw.execute("UPDATE referrals SET referrer_id = $2 WHERE referrer_id = $1", old, new)
    for table, column in _SUFFIXED:
        await raw.execute(
            f"UPDATE {table} SET {column} = left({column}, -length($2)) || $3 "
            f"WHERE member_id = $1 AND right({column}, length($2)) = $2",
            new,
            old_suffix,
            new_suffix,
        )
    await raw.execute(
        "UPDATE redemptions SET draws = replace(draws::text, $2, $3)::jsonb "
        "WHERE member_id = $1 AND strpos(draws::text, $2) > 0",
        new,
        old_suffix + '"',
        new_suffix + '"',
    )
    # entries booked by the member's own token name it as their actor
    await raw.execute(
        "UPDATE ledger_entries SET actor = $3 WHERE member_id = $1 AND actor = $2",
        new,
        f"member:{old}",
        f"member:{new}",
    )
    # the other side of the member's referrals names them: a referrer's `referral:<id>` lots
    # and orders and the reasons and answers that say who was referred (or who referred)
    related = [
        r["other"]
        for r in await raw.fetch(
            "SELECT referrer_id AS other FROM referrals WHERE member_id = $1 "
            "UNION SELECT member_id FROM referrals WHERE referrer_id = $1",
            new,
        )
    ]
    if related:
        old_ref, new_ref = f"referral:{old}", f"referral:{new}"
        for table in ("lots", "ledger_entries"):
            await raw.execute(
                f"UPDATE {table} SET lot_id = $3 || substr(lot_id, length($2) + 1) "
                "WHERE member_id = ANY($1::text[]) "
                "AND (lot_id = $2 OR left(lot_id, length($2) + 1) = $2 || '@')",
                related,
                old_ref,
                new_ref,
            )
            await raw.execute(
                f"UPDATE {table} SET order_id = $3 || substr(order_id, length($2) + 1) "
                "WHERE member_id = ANY($1::text[]) AND left(order_id, length($2) + 1) = $2 || ':'",
                related,
                old_ref,
                new_ref,
            )
        word = _word(old)
        await raw.execute(
            "UPDATE ledger_entries SET reason = regexp_replace(reason, $2, $3, 'g') "
            "WHERE member_id = ANY($1::text[]) AND reason ~ $2",
            related,
            word,
            new,
        )
        await raw.execute(
            "UPDATE events SET result = regexp_replace(result::text, $2, $3, 'g')::jsonb "
            "WHERE member_id = ANY($1::text[]) AND result::text ~ $2",
            related,
            word,
            new,
        )
    # the stored answers name the member (and their redemption ids), as do the reasons
    for table in ("events", "adjustments"):
        await raw.execute(
            f"UPDATE {table} SET result = "
            "regexp_replace(replace(result::text, $4, $5), $2, $3, 'g')::jsonb "
            "WHERE member_id = $1",
            new,
            _word(old),
            new,
            old_suffix + '"',
            new_suffix + '"',
        )
    await raw.execute(
        "UPDATE ledger_entries SET reason = regexp_replace(reason, $2, $3, 'g') "
        "WHERE member_id = $1 AND reason ~ $2",
        new,
        _word(old),
        new,
    )
    await raw.execute("SELECT set_config('loyalty.erasure', 'off', true)")


async def is_member(conn: Connection, member_id: str) -> bool:
    """Whether the member exists and was not erased."""
    row = await conn.raw.fetchrow(
        "SELECT 1 FROM members WHERE member_id = $1 AND erased_at IS NULL", member_id
    )
    return row is not None


async def record(
    conn: Connection, pseudonym: str, at: datetime, actor: str, points_forfeited: int
) -> None:
    """Keep the erasure: the pseudonym, when, who, the points forfeited."""
    await conn.raw.execute(
        "INSERT INTO erasures (pseudonym, erased_at, actor, points_forfeited) "
        "VALUES ($1, $2, $3, $4)",
        pseudonym,
        at,
        actor,
        points_forfeited,
    )


async def erased_members(conn: Connection, member_ids: Sequence[str]) -> set[str]:
    """Those of `member_ids` that are erased members' pseudonyms."""
    rows = await conn.raw.fetch(
        "SELECT member_id FROM members WHERE member_id = ANY($1::text[]) AND erased_at IS NOT NULL",
        list(member_ids),
    )
    return {r["member_id"] for r in rows}
