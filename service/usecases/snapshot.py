"""What the engine sees of a member: built from their stored state, as of an event's time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from service.core.engagement import engagement_bucket
from service.core.periods import period_key
from service.engine import MemberCounters, MemberSnapshot, Ruleset, RuleUsage
from service.store import ledger as ledger_store
from service.store import members as member_store
from service.store import progress as progress_store
from service.store.database import Connection
from service.store.ledger import MemberState
from service.usecases.game_state import GameState, load_game

__all__ = ["build_snapshot", "cap_period_keys", "member_snapshot"]


def cap_period_keys(ruleset: Ruleset, at: datetime) -> list[str]:
    """The cap periods (in the program's time zone) that an event at `at` counts against."""
    periods = {cap.period for rule in ruleset.rules for cap in rule.caps}
    return sorted(period_key(p, at, ruleset.program.timezone) for p in periods)


def budgeted_rules(ruleset: Ruleset) -> list[str]:
    """Ids of the rules with a global points budget."""
    return [rule.id for rule in ruleset.rules if rule.budget is not None]


def build_snapshot(
    ruleset: Ruleset,
    member_id: str,
    profile: Any,
    state: MemberState,
    budget_spent: dict[str, int],
    at: datetime,
    game: GameState | None = None,
) -> MemberSnapshot:
    """Assemble the engine's view of a member from their profile and stored state."""
    counters = state.counters
    last_active = _latest(c.last_at for c in counters.values())
    purchases = counters.get("purchase")
    tier = game.tier.review.state.tier if game and game.tier else None
    return MemberSnapshot(
        member_id=member_id,
        tier=tier,
        tier_multiplier=ruleset.tier_multiplier(tier),
        event_counts={name: c.count for name, c in counters.items()},
        badge_levels=game.badge_levels if game else {},
        challenges=game.challenges if game else {},
        streaks=game.streaks if game else {},
        referral=game.referral if game else None,
        attributes=dict(profile["attributes"]) if profile else {},
        timezone=profile["timezone"] if profile else None,
        birthday=profile["birthday"] if profile else None,
        counters=MemberCounters(
            purchases=purchases.count if purchases else 0,
            reviews=counters["review"].count if "review" in counters else 0,
            referrals=counters["referral"].count if "referral" in counters else 0,
            lifetime_points=state.balances.lifetime_earned,
            last_purchase_at=purchases.last_at if purchases else None,
            engagement=engagement_bucket(last_active, sum(c.count for c in counters.values()), at),
        ),
        badges=state.badges,
        rule_usage={
            key: RuleUsage(times=u.times, points=u.points) for key, u in state.usage.items()
        },
        budget_remaining={
            rule.id: max(0, rule.budget - budget_spent.get(rule.id, 0))
            for rule in ruleset.rules
            if rule.budget is not None
        },
    )


def _latest(times: Iterable[datetime | None]) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


async def member_snapshot(
    conn: Connection, ruleset: Ruleset, member_id: str, at: datetime
) -> MemberSnapshot:
    """The snapshot of a stored member (empty for an unknown one) as of an event at `at`."""
    profile = await member_store.fetch_member(conn, member_id)
    state = await ledger_store.load_state(conn, member_id, cap_period_keys(ruleset, at))
    spent = await progress_store.budget_spent(conn, budgeted_rules(ruleset))
    game = await load_game(conn, ruleset, member_id, None, at)
    return build_snapshot(ruleset, member_id, profile, state, spent, at, game)
