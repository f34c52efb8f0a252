"""SQL for erasure: a member's id replaced by a pseudonym in every table that keeps history,
their profile emptied, their leaderboard rows removed (with the histogram counts they held).

Member ids also appear inside ids this service made: a redemption id ends with the member id
(base64), a released lot's id ends with its redemption id, and a referrer's lot and order ids
name their referee (`referral:<id>`). Those are rewritten the same way, so that the history
reads and replays exactly as if the member had always had the pseudonym. Table names below are
fixed, never input.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from service.core.boards import BucketChange, bucket_of, group_of, histogram_shard
from service.store.boards import apply_bucket_changes
from service.store.database import Connection

__all__ = ["erased_members", "is_erased", "is_member", "lock_member", "pseudonymise", "record"]

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
    "member_engagement",
    "engagement_history",
    "experiment_exposures",
    "member_active_days",
    "member_cohorts",
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


def _templates(old: str) -> list[re.Pattern[str]]:
    """Where the service's own texts put a member id (service.decide.referral, event.py,
    engine.gamify): only there is it replaced, never where the same characters mean
    something else ("0 points")."""
    o = re.escape(old)
    return [
        re.compile(rf"(?<=points here, )(\d+ to ){o}(?=$| \()"),
        re.compile(rf"(?<=referred by ){o}(?=$|: )"),
        re.compile(rf"(?<=refund on ){o}(?='s order )"),
        re.compile(rf"^{o}(?=, whom you referred)"),
    ]


class _Renamer:
    """Rewrites the texts and JSON answers that name `old`."""

    def __init__(self, old: str, new: str, old_suffix: str, new_suffix: str) -> None:
        self.old, self.new = old, new
        self.old_suffix, self.new_suffix = old_suffix, new_suffix
        self.patterns = _templates(old)

    def text(self, value: str) -> str:
        """A reason (or an answer's `referral`) with the id replaced where a template put it."""
        for pattern in self.patterns:
            value = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + self.new, value)
        return value

    def id(self, value: str) -> str:
        """An id this service made that names the member: a redemption (or released lot) id
        ending with the member's suffix, a referral lot or order `referral:<id>...`."""
        if value.endswith(self.old_suffix):
            return value[: -len(self.old_suffix)] + self.new_suffix
        head = f"referral:{self.old}"
        if value.startswith(head) and (value == head or value[len(head)] in ":@"):
            return f"referral:{self.new}{value[len(head) :]}"
        return value

    def json(self, value: Any, key: str = "") -> Any:
        """An answer with the member's id replaced: in the fields that name a member, in ids,
        in reasons; nowhere else (an event id or a rule id may be the same characters)."""
        if isinstance(value, str):
            if key in _MEMBER_FIELDS:
                return self.new if value == self.old else value
            if key.endswith("_id"):
                return self.id(value)
            if key in _TEXT_FIELDS:
                return self.text(value)
            return value
        if isinstance(value, list):
            return [self.json(v, key) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        return value


_MEMBER_FIELDS = frozenset({"member_id", "referrer_id"})
_TEXT_FIELDS = frozenset({"reason", "referral"})


async def _rewrite_texts(
    conn: Connection,
    members: list[str],
    old: str,
    new: str,
    old_suffix: str,
    new_suffix: str,
    *,
    everything: bool,
) -> None:
    """Rewrite the members' event and adjustment answers and ledger reasons that name `old`
    (`everything`: all of them, the erased member's own; else those whose text holds it)."""
    raw = conn.raw
    rename = _Renamer(old, new, old_suffix, new_suffix)
    hint = "" if everything else old
    for table, key in (("events", "event_id"), ("adjustments", "adjustment_id")):
        rows = await raw.fetch(
            f"SELECT member_id, {key} AS id, result FROM {table} "
            "WHERE member_id = ANY($1::text[]) AND strpos(result::text, $2) > 0",
            members,
            hint,
        )
        changed = [(r["member_id"], r["id"], rename.json(r["result"])) for r in rows]
        changed = [c for c, r in zip(changed, rows, strict=True) if c[2] != r["result"]]
        if changed:
            await raw.executemany(
                f"UPDATE {table} SET result = $3 WHERE member_id = $1 AND {key} = $2", changed
            )
    rows = await raw.fetch(
        "SELECT member_id, entry_no, reason FROM ledger_entries "
        "WHERE member_id = ANY($1::text[]) AND strpos(reason, $2) > 0",
        members,
        old,
    )
    reasons = [(r["member_id"], r["entry_no"], rename.text(r["reason"])) for r in rows]
    reasons = [x for x, r in zip(reasons, rows, strict=True) if x[2] != r["reason"]]
    if reasons:
        await raw.executemany(
            "UPDATE ledger_entries SET reason = $3 WHERE member_id = $1 AND entry_no = $2",
            reasons,
        )


async def lock_member(conn: Connection, member_id: str) -> bool:
    """Lock the member's row; False when there is no such member or it was erased."""
    row = await conn.raw.fetchrow(
        "SELECT member_id FROM members WHERE member_id = $1 AND erased_at IS NULL FOR UPDATE",
        member_id,
    )
    return row is not None


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
    await _leave_boards(conn, old)
    await _rename_member(conn, old, new, old_suffix, new_suffix)
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
        await _rename_referral_ids(conn, related, f"referral:{old}", f"referral:{new}")
    # the stored answers and the reasons name the member: theirs, and their referrals' others
    await _rewrite_texts(conn, [new], old, new, old_suffix, new_suffix, everything=True)
    if related:
        await _rewrite_texts(conn, related, old, new, old_suffix, new_suffix, everything=False)
    await raw.execute("SELECT set_config('loyalty.erasure', 'off', true)")


async def _leave_boards(conn: Connection, member_id: str) -> None:
    """Delete the member's leaderboard scores and take them out of the histograms."""
    scores = await conn.raw.fetch(
        "DELETE FROM board_scores WHERE member_id = $1 "
        "RETURNING board_id, period_key, segment, score",
        member_id,
    )
    shard = histogram_shard(member_id)
    changes = []
    for r in scores:
        bucket = bucket_of(int(r["score"]))
        for level, slot in ((0, bucket), (1, group_of(bucket))):
            changes.append(
                BucketChange(r["board_id"], r["period_key"], r["segment"], level, slot, shard, -1)
            )
    if changes:
        await apply_bucket_changes(conn, sorted(changes))


async def _rename_member(
    conn: Connection, old: str, new: str, old_suffix: str, new_suffix: str
) -> None:
    """Empty the profile and give every row of the member, and the ids that end with it, the
    new name."""
    raw = conn.raw
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


async def _rename_referral_ids(
    conn: Connection, related: list[str], old_ref: str, new_ref: str
) -> None:
    """The `referral:<id>` lots and orders of the member's referrers and referees."""
    for table in ("lots", "ledger_entries"):
        await conn.raw.execute(
            f"UPDATE {table} SET lot_id = $3 || substr(lot_id, length($2) + 1) "
            "WHERE member_id = ANY($1::text[]) "
            "AND (lot_id = $2 OR left(lot_id, length($2) + 1) = $2 || '@')",
            related,
            old_ref,
            new_ref,
        )
        await conn.raw.execute(
            f"UPDATE {table} SET order_id = $3 || substr(order_id, length($2) + 1) "
            "WHERE member_id = ANY($1::text[]) AND left(order_id, length($2) + 1) = $2 || ':'",
            related,
            old_ref,
            new_ref,
        )


async def is_member(conn: Connection, member_id: str) -> bool:
    """Whether the member exists and was not erased."""
    row = await conn.raw.fetchrow(
        "SELECT 1 FROM members WHERE member_id = $1 AND erased_at IS NULL", member_id
    )
    return row is not None


async def is_erased(conn: Connection, member_id: str) -> bool:
    """Whether `member_id` is an erased member's pseudonym."""
    row = await conn.raw.fetchrow(
        "SELECT 1 FROM members WHERE member_id = $1 AND erased_at IS NOT NULL", member_id
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
