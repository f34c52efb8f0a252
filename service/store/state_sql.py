"""The SQL of the pipeline's state read, one section (one column) per kind of state.

A statement holds only the sections its read plan needs: an event set of a program without
redemptions reads no redemptions, a redemption reads no leaderboards. Each section names its
parameters as `{name}`; `statement` numbers them in order of first use, once per combination
of sections (cached), so every combination is one prepared statement per connection.
"""

from __future__ import annotations

import functools
import re

__all__ = ["SECTIONS", "Statement", "numbered", "statement"]

SECTIONS: dict[str, str] = {
    "balances": """
 (SELECT coalesce(json_agg(json_build_array(b.member_id, b.available, b.pending, b.held, b.debt,
         b.lifetime_earned, b.lifetime_spent, b.entries)), '[]')
    FROM balances b WHERE b.member_id = ANY({members}::text[]))::text""",
    "lots": """
 (SELECT coalesce(json_agg(l ORDER BY l.member_id, l.activates_at, l.earned_at, l.lot_id), '[]')
    FROM lots l WHERE l.member_id = ANY({members}::text[]) AND l.remaining > 0)::text""",
    # the same, with the lots the members' holds drew from (a hold may have emptied them)
    "lots_and_draws": """
 (SELECT coalesce(json_agg(l ORDER BY l.member_id, l.activates_at, l.earned_at, l.lot_id), '[]')
    FROM lots l WHERE l.member_id = ANY({members}::text[])
     AND (l.remaining > 0 OR EXISTS (
           SELECT 1 FROM redemptions r, jsonb_array_elements(r.draws) d
            WHERE r.member_id = l.member_id AND r.status = 'held'
              AND d ->> 'lot_id' = l.lot_id)))::text""",
    "counters": """
 (SELECT coalesce(json_agg(json_build_array(c.member_id, c.event_type, c.count, c.last_at)),
         '[]')
    FROM member_counters c WHERE c.member_id = ANY({members}::text[]))::text""",
    # a late event's member: the latest day with a purchase, and with any event, by its day
    "prior_days": """
 (SELECT coalesce(json_agg(json_build_array(k.member_id, k.day,
         (SELECT max(d.day) FROM tier_metric_days d
           WHERE d.member_id = k.member_id AND d.metric = 'count:purchase'
             AND d.day <= k.day AND d.value > 0),
         (SELECT max(d.day) FROM tier_metric_days d
           WHERE d.member_id = k.member_id AND d.metric LIKE 'count:%'
             AND d.day <= k.day AND d.value > 0))), '[]')
    FROM unnest({prior_members}::text[], {prior_days}::date[]) AS k(member_id, day))::text""",
    "badges": """
 (SELECT coalesce(json_agg(json_build_array(x.member_id, x.badge_id, x.level)), '[]')
    FROM member_badges x WHERE x.member_id = ANY({members}::text[]))::text""",
    "usage": """
 (SELECT coalesce(json_agg(json_build_array(u.member_id, u.rule_id, u.period_key, u.times,
         u.points)), '[]')
    FROM rule_usage u
   WHERE u.member_id = ANY({members}::text[])
     AND u.period_key = ANY({period_keys}::text[]))::text""",
    "events": """
 (SELECT coalesce(json_agg(json_build_array(e.member_id, e.event_id, e.body_hash, e.result)),
         '[]')
    FROM unnest({event_members}::text[], {event_ids}::text[]) AS k(member_id, event_id)
    JOIN events e ON e.member_id = k.member_id AND e.event_id = k.event_id)::text""",
    "orders": """
 (SELECT coalesce(json_agg(json_build_array(o.member_id, o.order_id, o.purchase_event_id,
         o.amount, o.points_earned, o.refunded_amount, o.points_reversed, p.occurred_at)), '[]')
    FROM unnest({order_members}::text[], {order_ids}::text[]) AS k(member_id, order_id)
    JOIN orders o ON o.member_id = k.member_id AND o.order_id = k.order_id
    LEFT JOIN events p
      ON p.member_id = o.member_id AND p.event_id = o.purchase_event_id)::text""",
    "tiers": """
 (SELECT coalesce(json_agg(json_build_array(t.member_id, t.tier, t.since, t.held_until)), '[]')
    FROM member_tiers t WHERE t.member_id = ANY({members}::text[]))::text""",
    "metric_days": """
 (SELECT coalesce(json_agg(json_build_array(d.member_id, d.day, d.value)), '[]')
    FROM unnest({members}::text[], {metric_since}::date[]) AS s(member_id, since)
    JOIN tier_metric_days d
      ON d.member_id = s.member_id AND d.metric = {tier_metric}::text
     AND d.day >= s.since)::text""",
    # the engagement score's days: every metric it reads, over the window of the set's days
    "engagement_days": """
 (SELECT coalesce(json_agg(json_build_array(d.member_id, d.metric, d.day, d.value)), '[]')
    FROM tier_metric_days d
   WHERE d.member_id = ANY({members}::text[])
     AND d.metric = ANY({engagement_metrics}::text[])
     AND d.day >= {engagement_since}::date)::text""",
    "engagement": """
 (SELECT coalesce(json_agg(json_build_array(g.member_id, g.level, g.since, g.seq, g.drops_at)),
         '[]')
    FROM member_engagement g WHERE g.member_id = ANY({members}::text[]))::text""",
    "tier_seqs": """
 (SELECT coalesce(json_agg(json_build_array(h.member_id, h.seq)), '[]')
    FROM (SELECT member_id, max(seq) AS seq FROM tier_history
           WHERE member_id = ANY({members}::text[]) GROUP BY member_id) h)::text""",
    "challenges": """
 (SELECT coalesce(json_agg(json_build_array(c.member_id, c.challenge_id, c.window_key, c.step,
         c.progress, c.completed_at)), '[]')
    FROM challenge_progress c
   WHERE c.member_id = ANY({members}::text[])
     AND c.window_key = ANY({challenge_keys}::text[]))::text""",
    "streak_units": """
 (SELECT coalesce(json_agg(json_build_array(u.member_id, u.streak_id, u.unit)
                           ORDER BY u.member_id, u.streak_id, u.unit), '[]')
    FROM streak_units u
   WHERE u.member_id = ANY({members}::text[]) AND u.unit >= {streak_since}::date)::text""",
    "streaks": """
 (SELECT coalesce(json_agg(json_build_array(s.member_id, s.streak_id, s.longest, s.run_start,
         s.rewarded)), '[]')
    FROM member_streaks s WHERE s.member_id = ANY({members}::text[]))::text""",
    "referrals": """
 (SELECT coalesce(json_agg(r), '[]') FROM referrals r
   WHERE r.member_id = ANY({members}::text[]))::text""",
    "rewarded": """
 (SELECT coalesce(json_agg(json_build_array(r.referrer_id, r.n)), '[]')
    FROM (SELECT referrer_id, count(*) AS n FROM referrals
           WHERE referrer_id = ANY({members}::text[]) AND referrer_points > 0
           GROUP BY referrer_id) r)::text""",
    "boards": """
 (SELECT coalesce(json_agg(json_build_array(s.member_id, s.board_id, s.period_key, s.segment,
         s.score)), '[]')
    FROM board_scores s
   WHERE s.member_id = ANY({members}::text[]) AND s.board_id = ANY({boards}::text[])
     AND s.period_key = ANY({board_periods}::text[]))::text""",
    "budgets": """
 (SELECT coalesce(json_agg(json_build_array(b.rule_id, b.spent)), '[]')
    FROM (SELECT rule_id, spent FROM rule_budgets WHERE rule_id = ANY({budgets}::text[])
          ORDER BY rule_id FOR UPDATE) b)::text""",
    "profiles": """
 (SELECT coalesce(json_agg(json_build_object('member_id', m.member_id,
         'display_name', m.display_name, 'timezone', m.timezone, 'birthday', m.birthday,
         'hidden', m.hidden, 'attributes', m.attributes)), '[]')
    FROM members m WHERE m.member_id = ANY({members}::text[]))::text""",
    "redemptions": """
 (SELECT coalesce(json_agg(r), '[]') FROM redemptions r
   WHERE r.member_id = ANY({members}::text[])
     AND (r.status = 'held'
          OR (r.member_id, r.idempotency_key) IN
             (SELECT * FROM unnest({key_members}::text[], {keys}::text[]))
          OR (r.member_id, r.redemption_id) IN
             (SELECT * FROM unnest({id_members}::text[], {ids}::text[]))))::text""",
    "reward_counts": """
 (SELECT coalesce(json_agg(json_build_array(k.member_id, k.reward_id,
         (SELECT count(*) FROM redemptions r
           WHERE r.member_id = k.member_id AND r.reward_id = k.reward_id
             AND r.status IN ('held', 'committed')))), '[]')
    FROM unnest({count_members}::text[], {count_rewards}::text[])
         AS k(member_id, reward_id))::text""",
    "adjustments": """
 (SELECT coalesce(json_agg(json_build_array(a.member_id, a.idempotency_key, a.request_hash,
         a.result)), '[]')
    FROM unnest({adjustment_members}::text[], {adjustment_keys}::text[])
         AS k(member_id, idempotency_key)
    JOIN adjustments a
      ON a.member_id = k.member_id AND a.idempotency_key = k.idempotency_key)::text""",
    "stock": """
 (SELECT coalesce(json_agg(json_build_array(x.reward_id, x.issued)), '[]')
    FROM (SELECT reward_id, issued FROM reward_stock WHERE reward_id = ANY({stock}::text[])
          ORDER BY reward_id FOR UPDATE) x)::text""",
    "free_code": """
 (SELECT c.code FROM coupon_codes c
   WHERE c.reward_id = {pool}::text AND c.member_id IS NULL
     AND c.code = ANY({pool_codes}::text[])
   ORDER BY c.code LIMIT 1 FOR UPDATE SKIP LOCKED)""",
    "pool_size": """
 (SELECT count(*) FROM coupon_codes c WHERE c.reward_id = {pool}::text)""",
}

_PARAM = re.compile(r"\{(\w+)\}")


class Statement:
    """One combination of sections: the SQL with `$n` parameters and their names in order."""

    __slots__ = ("names", "sql")

    def __init__(self, sql: str, names: tuple[str, ...]) -> None:
        self.sql = sql
        self.names = names


def numbered(sql: str) -> Statement:
    """`sql` with its `{name}` parameters numbered `$1`, `$2`... in order of first use."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match[1]
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return Statement(_PARAM.sub(number, sql), tuple(names))


@functools.lru_cache(maxsize=256)
def statement(sections: tuple[str, ...], locking: bool = True) -> Statement:
    """The SELECT of these sections (column names = section names; `lots_and_draws` reads as
    `lots`); without `locking`, no row is locked (reads that must not wait)."""
    columns = []
    for section in sections:
        sql = SECTIONS[section]
        if not locking:
            sql = sql.replace("FOR UPDATE SKIP LOCKED", "").replace("FOR UPDATE", "")
        alias = "lots" if section == "lots_and_draws" else section
        columns.append(f"{sql} AS {alias}")
    return numbered("SELECT" + ",".join(columns))
