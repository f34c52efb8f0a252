"""What the rules engine sees of a member for one event: their state, as of the event's time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from service.core.engagement import engagement_bucket
from service.core.tiers import TierReview
from service.decide.state import MemberState
from service.engine import MemberCounters, MemberSnapshot, ReferralLink, Ruleset, RuleUsage

__all__ = ["snapshot_of"]


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
    known = [c.last_at for c in counters.values() if c.last_at is not None]
    last_active = max(known) if known else None
    purchases = counters.get("purchase")
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
            last_purchase_at=purchases.last_at if purchases else None,
            engagement=engagement_bucket(last_active, sum(c.count for c in counters.values()), at),
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
