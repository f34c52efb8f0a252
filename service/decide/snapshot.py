"""What the rules engine sees of a member for one event: their state, as of the event's time.

Recency is measured at the event's `occurred_at`, from what the member had done by then: the
latest purchase and the latest activity at or before it. When the member's latest known event
is younger than the event (it is late, or arrived out of order), the latest day before it comes
from what the load read for late events (`MemberState.prior`) and from the events of the same
set decided before it; an event that is not late (`LATE_AFTER`) counts such a younger event as
on its own day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from service.core.engagement import engagement_shares
from service.core.tiers import TierReview
from service.decide.state import MemberState
from service.decide.tiering import local_day
from service.engine import (
    EngagementView,
    MemberCounters,
    MemberSnapshot,
    ReferralLink,
    Ruleset,
    RuleUsage,
)

__all__ = ["engagement_view", "last_as_of", "snapshot_of"]


def engagement_view(ruleset: Ruleset, state: MemberState, at: datetime) -> EngagementView:
    """The member's engagement as rules read it, as of the local day of `at` (in the program's
    time zone), from the days loaded and decided so far."""
    day = local_day(at, ruleset.program.timezone)
    score, level, shares = engagement_shares(ruleset.program.engagement, state.engagement_days, day)
    return EngagementView(score, level, shares)


def last_as_of(
    state: MemberState, event_type: str | None, at: datetime, tz: str
) -> datetime | None:
    """The member's latest event (of `event_type`, or of any type) at or before `at`, as a
    time: exact when no younger event is known; else the start of the latest local day (in
    `tz`) with one, as stored and decided in this set; `at` itself when that was not read."""
    counters = state.counters.values() if event_type is None else [state.counters.get(event_type)]
    known = [c.last_at for c in counters if c is not None and c.last_at is not None]
    if not known:
        return None
    latest = max(known)
    if latest <= at:
        return latest
    day = local_day(at, tz)
    prior = state.prior.get(day)
    if prior is None:
        return at
    stored = prior.purchase if event_type == "purchase" else prior.active
    days: list[date] = [d for d in (stored,) if d is not None]
    days += [d for t, d in state.decided if d <= day and event_type in (None, t)]
    if not days:
        return None
    return datetime.combine(max(days), time(), ZoneInfo(tz))


def snapshot_of(
    ruleset: Ruleset,
    state: MemberState,
    tier: TierReview | None,
    windows: Mapping[str, str],
    budgets_spent: Mapping[str, int],
    at: datetime,
) -> MemberSnapshot:
    """The engine's view of a member for an event at `at`; `windows` are the challenge windows
    the event falls in, `tier` the review as of now."""
    counters = state.counters
    tz = ruleset.program.timezone
    purchases = counters.get("purchase")
    last_purchase = last_as_of(state, "purchase", at, tz)
    tier_id = tier.state.tier if tier is not None else None
    referral = state.referral
    profile = state.profile
    return MemberSnapshot(
        member_id=state.member_id,
        tier=tier_id,
        tier_multiplier=ruleset.tier_multiplier(tier_id),
        event_counts={name: c.count for name, c in counters.items()},
        badge_levels=dict(state.badges),
        challenges={
            challenge_id: state.challenges[(challenge_id, key)].progress_state
            for challenge_id, key in windows.items()
            if (challenge_id, key) in state.challenges
        },
        streaks=dict(state.streaks),
        referral=(
            ReferralLink(referral.referrer_id, referral.rewarded_at is not None)
            if referral is not None
            else None
        ),
        attributes=dict(profile.attributes),
        timezone=profile.timezone,
        birthday=profile.birthday,
        counters=MemberCounters(
            purchases=purchases.count if purchases else 0,
            reviews=counters["review"].count if "review" in counters else 0,
            referrals=counters["referral"].count if "referral" in counters else 0,
            lifetime_points=state.balances.lifetime_earned,
            last_purchase_at=last_purchase,
            engagement=engagement_view(ruleset, state, at),
        ),
        badges=frozenset(state.badges),
        rule_usage={
            key: RuleUsage(times=u.times, points=u.points) for key, u in state.usage.items()
        },
        budget_remaining={
            rule.id: max(0, rule.budget - budgets_spent.get(rule.id, 0))
            for rule in ruleset.rules
            if rule.budget is not None
        },
    )
