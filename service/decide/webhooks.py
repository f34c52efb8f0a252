"""The outbox messages a decision writes: what happened to each member, read off the rows the
decision saves (entries, tier moves, badge grants) and the members before and after the set
(challenges, streak milestones, redemptions). They are saved by the same statement as the rows,
so no change commits without its message and no message without its change.

Each message's id is derived from what it tells (`core.webhooks.message_id`): the same
happening always gets the same id, and a receiver deduplicates by it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from service.core.webhooks import message_id
from service.decide.state import MemberState

if TYPE_CHECKING:
    from service.decide.rows import Log, Rows

__all__ = ["WebhookMessage", "outbox_messages"]


class WebhookMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One outbox row: a kind (`points.earned`...) and its `data` for one member."""

    message_id: str
    member_id: str
    kind: str
    payload: dict[str, Any]
    created_at: datetime


def _message(
    kind: str, member_id: str, subject: tuple[object, ...], payload: dict[str, Any], now: datetime
) -> WebhookMessage:
    """A message of `kind` for one member; its id is derived from the kind, the member and
    the `subject` that names the happening, and `data` always carries the member."""
    return WebhookMessage(
        message_id=message_id(kind, member_id, *subject),
        member_id=member_id,
        kind=kind,
        payload={"member_id": member_id, **payload},
        created_at=now,
    )


def _points(rows: Rows, now: datetime) -> list[WebhookMessage]:
    """`points.earned` and `points.reversed`: one message per member and event (or redemption
    or adjustment), the rules that paid and the points."""
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in rows.entries:
        if e.kind == "earn" and e.points > 0:
            kind = "points.earned"
        elif e.kind == "reverse":
            kind = "points.reversed"
        else:
            continue
        cause = e.event_id or e.redemption_id or f"entry-{e.entry_no}"
        data = grouped.get((kind, e.member_id, cause))
        if data is None:
            data = grouped[(kind, e.member_id, cause)] = {
                "event_id": e.event_id,
                "order_id": e.order_id,
                "points": 0,
                "pending": 0,
                "rules": defaultdict(int),
                "at": e.at,
                "first_entry": e.entry_no,
            }
        amount = abs(e.points)
        data["points"] += amount
        if e.balance == "pending":
            data["pending"] += amount
        data["rules"][e.rule_id or "-"] += amount
    messages = []
    for (kind, member, cause), data in grouped.items():
        first = data.pop("first_entry")
        data["rules"] = [{"rule_id": r, "points": p} for r, p in data["rules"].items()]
        messages.append(_message(kind, member, (cause, first), data, now))
    return messages


def _logged(rows: Rows, log: Log, now: datetime) -> list[WebhookMessage]:
    """`tier.changed` from the tier history lines, `engagement.changed` from the engagement
    level moves (not a member's first level), `badge.awarded` from the badge grants."""
    messages = [
        _message(
            "tier.changed",
            move.member_id,
            (move.seq,),
            {
                "from_tier": move.from_tier,
                "to_tier": move.to_tier,
                "at": move.at,
                "reason": move.reason,
            },
            now,
        )
        for move in rows.tier_moves
    ]
    messages += [
        _message(
            "engagement.changed",
            level.member_id,
            (level.seq,),
            {
                "from_level": level.from_level,
                "to_level": level.to_level,
                "score": float(level.score),
                "at": level.at,
                "event_id": level.event_id,
            },
            now,
        )
        for level in rows.engagement_moves
        if level.from_level is not None  # a member's first level: nothing changed
    ]
    names = {(b.member_id, b.badge_id, b.level): b.level_name for b in rows.badge_levels}
    messages += [
        _message(
            "badge.awarded",
            grant.member_id,
            (grant.badge_id, grant.level),
            {
                "badge_id": grant.badge_id,
                "level": grant.level,
                "level_name": names.get((grant.member_id, grant.badge_id, grant.level)),
                "event_id": grant.event_id,
                "rule_id": grant.rule_id,
                "at": grant.granted_at,
            },
            now,
        )
        for grant in log.badges
    ]
    return messages


def _member(before: MemberState, after: MemberState, now: datetime) -> list[WebhookMessage]:
    """Challenge progress and completion, streak milestones and redemptions of one member."""
    member = after.member_id
    out = []

    def add(kind: str, subject: tuple[object, ...], payload: dict[str, Any]) -> None:
        out.append(_message(kind, member, subject, payload, now))

    for (challenge_id, window), c in after.challenges.items():
        old = before.challenges.get((challenge_id, window))
        if old == c:
            continue
        data = {
            "challenge_id": challenge_id,
            "window": window,
            "step": c.step + 1,
            "progress": c.progress,
            "completed_at": c.completed_at,
        }
        if c.completed_at is not None and (old is None or old.completed_at is None):
            add("challenge.completed", (challenge_id, window), data)
        elif c.completed_at is None:
            add("challenge.progressed", (challenge_id, window, c.step, c.progress), data)
    for streak_id, s in after.streaks.items():
        old_streak = before.streaks.get(streak_id)
        if s.rewarded > (old_streak.rewarded if old_streak else 0):
            subject = (streak_id, s.run_start, s.rewarded)
            data = {"streak_id": streak_id, "milestone": s.rewarded, "run_start": s.run_start}
            add("streak.milestone", subject, data)
    for redemption_id, r in after.redemptions.items():
        old_r = before.redemptions.get(redemption_id)
        if r.status == "committed" and (old_r is None or old_r.status != "committed"):
            data = {
                "redemption_id": redemption_id,
                "reward_id": r.reward_id,
                "points": r.points,
                "coupon_code": r.coupon_code,
                "reference": r.reference,
                "at": r.settled_at or r.created_at,
            }
            add("reward.redeemed", (redemption_id,), data)
    return out


def outbox_messages(
    rows: Rows,
    log: Log,
    before: dict[str, MemberState],
    after: dict[str, MemberState],
    now: datetime,
    kinds: Collection[str] | None = None,
) -> list[WebhookMessage]:
    """Every message the rows and the members' change tell, one member's in a fixed order;
    with `kinds`, only the messages of those kinds (none for none: a replay in memory, which
    keeps no outbox, builds none)."""
    if kinds is not None and not kinds:
        return []
    messages = [*_points(rows, now), *_logged(rows, log, now)]
    for member_id in sorted(after):
        old, new = before[member_id], after[member_id]
        if old is not new:
            messages.extend(_member(old, new, now))
    if kinds is not None:
        messages = [m for m in messages if m.kind in kinds]
    unique = {m.message_id: m for m in messages}  # a statement may write a row once
    return sorted(unique.values(), key=lambda m: m.member_id)  # stable: a member's in order
