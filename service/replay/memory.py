"""The pipeline's store, in memory: the same lock, state read and save as `store/member_sets.py`
and `store/set_writes.py`, over dictionaries instead of tables.

The replay and the backtest decide stored history again with the pipeline's own plans and its
pure decision step; this store answers their plans exactly as PostgreSQL would (the same rows
filtered the same way, in the same order) and applies the rows a decision writes with the same
merge rules (an upsert's updated columns, `greatest`, sums). Nothing here touches a database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from msgspec.structs import replace

from service.core.ledger import Balances, Lot
from service.core.tiers import TierState
from service.decide.plan import LockPlan, ReadPlan
from service.decide.rows import (
    AdjustmentRow,
    BadgeLevelRow,
    BadgeRow,
    BalanceRow,
    BoardScoreRow,
    ChallengeSaveRow,
    CodeRow,
    CounterRow,
    EngagementMoveRow,
    EngagementRow,
    EntryRow,
    EventRow,
    ExposureRow,
    OrderRow,
    RedemptionRow,
    ReferralRow,
    Rows,
    StreakRow,
    TierMoveRow,
    TierRow,
    UsageRow,
)
from service.decide.state import (
    ChallengeRow,
    Counter,
    EngagementLevelState,
    MemberState,
    Order,
    Prior,
    Profile,
    Redemption,
    Referral,
    SetState,
    StoredAdjustment,
    StoredEvent,
    Usage,
)
from service.engine import StreakHistory
from service.engine.snapshot import usage_key
from service.store.member_sets import Locked

__all__ = ["MemberTables", "MemoryStore"]


class MemberTables:
    """One member's rows in every member-owned table, keyed as the tables are."""

    __slots__ = (
        "adjustments",
        "badge_levels",
        "badges",
        "balance",
        "challenges",
        "counters",
        "engagement",
        "engagement_moves",
        "entries",
        "events",
        "exposures",
        "lots",
        "metrics",
        "orders",
        "profile",
        "redemptions",
        "referral",
        "scores",
        "streak_units",
        "streaks",
        "tier",
        "tier_moves",
        "usage",
    )

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.events: dict[str, EventRow] = {}
        self.counters: dict[str, CounterRow] = {}
        self.lots: dict[str, Lot] = {}
        self.entries: list[EntryRow] = []
        self.balance: BalanceRow | None = None
        self.orders: dict[str, OrderRow] = {}
        self.usage: dict[tuple[str, str], UsageRow] = {}
        self.badges: dict[str, BadgeRow] = {}
        self.badge_levels: dict[tuple[str, int], BadgeLevelRow] = {}
        self.challenges: dict[tuple[str, str], ChallengeSaveRow] = {}
        self.streak_units: dict[str, set[date]] = defaultdict(set)
        self.streaks: dict[str, StreakRow] = {}
        self.metrics: dict[str, dict[date, Decimal]] = defaultdict(dict)
        self.tier: TierRow | None = None
        self.tier_moves: list[TierMoveRow] = []
        self.engagement: EngagementRow | None = None
        self.engagement_moves: list[EngagementMoveRow] = []
        self.exposures: dict[tuple[str, str], ExposureRow] = {}
        self.referral: ReferralRow | None = None
        self.scores: dict[tuple[str, str, str], BoardScoreRow] = {}
        self.redemptions: dict[str, RedemptionRow] = {}
        self.adjustments: dict[str, AdjustmentRow] = {}


class MemoryStore:
    """Members' tables and the shared counters (budgets, stock, coupon codes) of one replay."""

    def __init__(
        self,
        profiles: Mapping[str, Profile] | None = None,
        code_owners: Mapping[str, str] | None = None,
    ) -> None:
        self.profiles = dict(profiles or {})
        self.code_owners = dict(code_owners or {})
        """Referral code -> its owner (codes are made on request, not by events)."""
        self.members: dict[str, MemberTables] = {}
        self.budgets: dict[str, int] = {}
        self.stock: dict[str, int] = {}
        self.codes: dict[str, dict[str, CodeRow | None]] = {}
        """Coupon codes per reward: the redemption each is issued to, or None."""
        self.referees: dict[str, set[str]] = defaultdict(set)

    # -- the lock ---------------------------------------------------------------------------

    def member(self, member_id: str) -> MemberTables:
        """The member's tables, created (with their stored profile) on first use, as the lock
        creates an unknown member."""
        tables = self.members.get(member_id)
        if tables is None:
            tables = MemberTables(self.profiles.get(member_id, Profile()))
            self.members[member_id] = tables
        return tables

    def lock(self, plan: LockPlan) -> Locked:
        """What `lock_set` answers: the members (created when new), their referral links and
        the owners of the codes in play."""
        wanted = set(plan.members)
        links: list[tuple[str, str, datetime | None]] = []
        for referee in plan.referees:
            tables = self.members.get(referee)
            r = tables.referral if tables is not None else None
            if r is not None:
                links.append((r.member_id, r.referrer_id, r.rewarded_at))
                if r.rewarded_at is None or r.referrer_points > r.referrer_reversed:
                    wanted.add(r.referrer_id)
        owners = {c: self.code_owners[c] for c in plan.codes if c in self.code_owners}
        wanted.update(owners.values())
        if plan.skip_locked:
            wanted = {m for m in plan.members if m in self.members}
        for rule_id in plan.budgets:
            self.budgets.setdefault(rule_id, 0)
        for reward_id in plan.stock:
            self.stock.setdefault(reward_id, 0)
        profiles = {m: self.member(m).profile for m in sorted(wanted)}
        return Locked(
            profiles=profiles,
            links=links,
            code_owners=owners,
        )

    # -- the state read ---------------------------------------------------------------------

    def load(self, plan: ReadPlan, locked: Locked | None) -> SetState:
        """What `load_set` reads for `plan` (with `locked`), or `read_set` (without)."""
        members = {
            member_id: self._member(member_id, plan, since, locked is None)
            for member_id, since in zip(plan.members, plan.metric_since, strict=True)
        }
        free: dict[str, str] = {}
        sizes: dict[str, int] = {}
        if plan.pool is not None:
            pool = self.codes.get(plan.pool, {})
            sizes[plan.pool] = len(pool)
            wanted = set(plan.pool_codes)
            open_codes = sorted(c for c, issued in pool.items() if issued is None and c in wanted)
            if open_codes:
                free[plan.pool] = open_codes[0]
        return SetState(
            members=members,
            budgets={r: self.budgets[r] for r in sorted(plan.budgets) if r in self.budgets},
            code_owners=dict(locked.code_owners) if locked is not None else {},
            known=frozenset(locked.profiles) if locked is not None else frozenset(self.members),
            stock_issued={r: self.stock[r] for r in plan.stock if r in self.stock},
            free_codes=free,
            pool_sizes=sizes,
        )

    def _member(
        self, member_id: str, plan: ReadPlan, since: date | None, read_only: bool
    ) -> MemberState:
        t = self.members.get(member_id)
        if t is None:
            return MemberState(member_id=member_id, metric_since=since)
        redemptions = plan.holds or bool(plan.redemption_keys or plan.redemption_ids)
        events = bool(plan.event_ids)
        b = t.balance
        return MemberState(
            member_id=member_id,
            profile=t.profile,
            balances=_balances(b),
            entries=b.entries if b is not None else 0,
            lots=self._lots(t, redemptions),
            counters={k: Counter(c.count, c.last_at) for k, c in t.counters.items()}
            if events
            else {},
            prior=_prior(t, [day for m, day in plan.prior_days if m == member_id]),
            badges={k: x.level for k, x in t.badges.items()} if events else {},
            usage=_usage(t, plan.period_keys),
            events={
                e: StoredEvent(t.events[e].body_hash, t.events[e].result)
                for m, e in plan.event_ids
                if m == member_id and e in t.events
            },
            orders=_orders(t, [o for m, o in plan.order_ids if m == member_id]),
            tier=_tier(t.tier) if plan.tier_metric is not None else TierState(),
            metric_days=_days(t, plan.tier_metric, since),
            metric_since=since,
            engagement_days=_engagement_days(t, plan),
            engagement=_engagement(t)
            if plan.engagement_since is not None
            else EngagementLevelState(),
            tier_seq=t.tier_moves[-1].seq if plan.tier_metric is not None and t.tier_moves else 0,
            challenges=_challenges(t, plan.challenge_keys),
            streaks=_streaks(t, plan.streak_since) if plan.streak_since is not None else {},
            referral=_referral(t.referral) if plan.referrals else None,
            referrals_rewarded=self._rewarded(member_id) if plan.referrals else 0,
            boards=_scores(t, plan.boards, plan.board_periods),
            redemptions=_redemptions(t, member_id, plan) if redemptions else {},
            active_redemptions={
                reward: sum(
                    1
                    for r in t.redemptions.values()
                    if r.reward_id == reward and r.status in ("held", "committed")
                )
                for m, reward in plan.reward_counts
                if m == member_id
            },
            adjustments={
                key: StoredAdjustment(a.request_hash, a.result)
                for m, key in plan.adjustment_keys
                if m == member_id
                for a in t.adjustments.values()
                if a.idempotency_key == key
            },
        )

    @staticmethod
    def _lots(t: MemberTables, with_draws: bool) -> tuple[Lot, ...]:
        drawn: set[str] = set()
        if with_draws:
            drawn = {
                d.lot_id for r in t.redemptions.values() if r.status == "held" for d in r.draws
            }
        kept = [lot for lot in t.lots.values() if lot.remaining > 0 or lot.lot_id in drawn]
        kept.sort(key=lambda lot: (lot.activates_at, lot.earned_at, lot.lot_id))
        return tuple(kept)

    def _rewarded(self, member_id: str) -> int:
        n = 0
        for referee in self.referees.get(member_id, ()):
            r = self.members[referee].referral
            if r is not None and r.referrer_id == member_id and r.referrer_points > 0:
                n += 1
        return n

    # -- the save ---------------------------------------------------------------------------

    def seed_pool(self, reward_id: str, codes: Iterable[str]) -> None:
        """Add a reward's pool codes not stored yet (as `redemption_store.seed_pool`)."""
        pool = self.codes.setdefault(reward_id, {})
        for code in codes:
            pool.setdefault(code, None)

    def save(self, rows: Rows) -> bool:
        """Apply a decision's rows as `save_rows` does; False when a generated coupon code is
        already taken (the caller draws another, as the live save's `CodeTaken`)."""
        for c in rows.generated_codes:
            if c.code in self.codes.get(c.reward_id, {}):
                return False
        self._save_ledger(rows)
        self._save_activity(rows)
        self._save_progress(rows)
        self._save_tiers(rows)
        self._save_spending(rows)
        self._save_shared(rows)
        return True

    def _save_ledger(self, rows: Rows) -> None:
        m = self.member
        for lot in rows.lots:
            lots = m(lot.member_id).lots
            old = lots.get(lot.lot_id)
            lots[lot.lot_id] = (
                lot if old is None else replace(old, remaining=lot.remaining, state=lot.state)
            )
        for entry in rows.entries:
            m(entry.member_id).entries.append(entry)
        for b in rows.balances:
            m(b.member_id).balance = b

    def _save_activity(self, rows: Rows) -> None:
        m = self.member
        for e in rows.events:
            m(e.member_id).events.setdefault(e.event_id, e)
        for c in rows.counters:
            m(c.member_id).counters[c.event_type] = c
        for o in rows.orders:
            orders = m(o.member_id).orders
            old = orders.get(o.order_id)
            orders[o.order_id] = (
                o
                if old is None
                else replace(
                    old, refunded_amount=o.refunded_amount, points_reversed=o.points_reversed
                )
            )
        for u in rows.usage:
            m(u.member_id).usage[(u.rule_id, u.period_key)] = u
        for a in rows.attributes:
            t = m(a.member_id)
            t.profile = replace(t.profile, attributes=a.attributes)
        for metric in rows.metrics:
            days = m(metric.member_id).metrics[metric.metric]
            days[metric.day] = days.get(metric.day, Decimal(0)) + metric.value
        for r in rows.referrals:
            m(r.member_id).referral = r
            self.referees[r.referrer_id].add(r.member_id)

    def _save_progress(self, rows: Rows) -> None:
        m = self.member
        for badge in rows.badges:
            badges = m(badge.member_id).badges
            held = badges.get(badge.badge_id)
            badges[badge.badge_id] = (
                badge if held is None else replace(held, level=max(held.level, badge.level))
            )
        for level in rows.badge_levels:
            m(level.member_id).badge_levels.setdefault((level.badge_id, level.level), level)
        for ch in rows.challenges:
            m(ch.member_id).challenges[(ch.challenge_id, ch.window_key)] = ch
        for unit in rows.streak_units:
            m(unit.member_id).streak_units[unit.streak_id].add(unit.unit)
        for s in rows.streaks:
            streaks = m(s.member_id).streaks
            old = streaks.get(s.streak_id)
            streaks[s.streak_id] = (
                s if old is None else replace(s, longest=max(old.longest, s.longest))
            )
        for score in rows.board_scores:
            m(score.member_id).scores[(score.board_id, score.period_key, score.segment)] = score

    def _save_tiers(self, rows: Rows) -> None:
        for tier in rows.tiers:
            self.member(tier.member_id).tier = tier
        for move in rows.tier_moves:
            self.member(move.member_id).tier_moves.append(move)
        for g in rows.engagement:
            self.member(g.member_id).engagement = g
        for level in rows.engagement_moves:
            self.member(level.member_id).engagement_moves.append(level)
        for x in rows.exposures:
            self.member(x.member_id).exposures[(x.event_id, x.rule_id)] = x

    def _save_spending(self, rows: Rows) -> None:
        m = self.member
        for red in rows.redemptions:
            redemptions = m(red.member_id).redemptions
            old = redemptions.get(red.redemption_id)
            redemptions[red.redemption_id] = (
                red
                if old is None
                else replace(
                    old, status=red.status, settled_at=red.settled_at, coupon_code=red.coupon_code
                )
            )
        for adj in rows.adjustments:
            m(adj.member_id).adjustments.setdefault(adj.adjustment_id, adj)

    def _save_shared(self, rows: Rows) -> None:
        """Budgets, stock and coupon codes: rows every member shares."""
        for budget in rows.budgets:
            if budget.rule_id in self.budgets:
                self.budgets[budget.rule_id] = budget.spent
        for st in rows.stock:
            if st.reward_id in self.stock:
                self.stock[st.reward_id] = max(self.stock[st.reward_id] + st.delta, 0)
        for claim in rows.code_claims:
            pool = self.codes.setdefault(claim.reward_id, {})
            if claim.code in pool and pool[claim.code] is None:
                pool[claim.code] = claim
        for ret in rows.code_returns:
            pool = self.codes.get(ret.reward_id, {})
            issued = pool.get(ret.code)
            if issued is not None and issued.redemption_id == ret.redemption_id:
                pool[ret.code] = None
        for gen in rows.generated_codes:
            self.codes.setdefault(gen.reward_id, {})[gen.code] = gen


def _balances(b: BalanceRow | None) -> Balances:
    if b is None:
        return Balances()
    return Balances(
        available=b.available,
        pending=b.pending,
        held=b.held,
        debt=b.debt,
        lifetime_earned=b.lifetime_earned,
        lifetime_spent=b.lifetime_spent,
    )


def _prior(t: MemberTables, days: list[date]) -> dict[date, Prior]:
    if not days:
        return {}
    purchases = [d for d, v in t.metrics.get("count:purchase", {}).items() if v > 0]
    active = [
        d
        for metric, values in t.metrics.items()
        if metric.startswith("count:")
        for d, v in values.items()
        if v > 0
    ]
    return {
        day: Prior(
            max((d for d in purchases if d <= day), default=None),
            max((d for d in active if d <= day), default=None),
        )
        for day in days
    }


def _usage(t: MemberTables, period_keys: list[str]) -> dict[str, Usage]:
    if not period_keys:
        return {}
    keys = set(period_keys)
    return {
        usage_key(u.rule_id, u.period_key): Usage(u.times, u.points)
        for u in t.usage.values()
        if u.period_key in keys
    }


def _orders(t: MemberTables, order_ids: list[str]) -> dict[str, Order]:
    out: dict[str, Order] = {}
    for order_id in order_ids:
        o = t.orders.get(order_id)
        if o is None:
            continue
        purchase = t.events.get(o.purchase_event_id)
        out[order_id] = Order(
            order_id=o.order_id,
            purchase_event_id=o.purchase_event_id,
            amount=o.amount,
            points_earned=o.points_earned,
            refunded_amount=o.refunded_amount,
            points_reversed=o.points_reversed,
            purchased_at=purchase.occurred_at if purchase is not None else None,
        )
    return out


def _tier(t: TierRow | None) -> TierState:
    return TierState(t.tier, t.since, t.held_until) if t is not None else TierState()


def _days(t: MemberTables, metric: str | None, since: date | None) -> dict[date, Decimal]:
    if metric is None or since is None:
        return {}
    return {d: v for d, v in t.metrics.get(metric, {}).items() if d >= since}


def _engagement(t: MemberTables) -> EngagementLevelState:
    g = t.engagement
    if g is None:
        return EngagementLevelState()
    return EngagementLevelState(level=g.level, since=g.since, seq=g.seq, drops_at=g.drops_at)


def _engagement_days(t: MemberTables, plan: ReadPlan) -> dict[tuple[str, date], Decimal]:
    since = plan.engagement_since
    if since is None:
        return {}
    return {
        (metric, d): v
        for metric in plan.engagement_metrics
        for d, v in t.metrics.get(metric, {}).items()
        if d >= since
    }


def _challenges(t: MemberTables, keys: list[str]) -> dict[tuple[str, str], ChallengeRow]:
    if not keys:
        return {}
    wanted = set(keys)
    return {
        (c.challenge_id, c.window_key): ChallengeRow(c.step, c.progress, c.completed_at)
        for c in t.challenges.values()
        if c.window_key in wanted
    }


def _streaks(t: MemberTables, since: date) -> dict[str, StreakHistory]:
    return {
        s.streak_id: StreakHistory(
            tuple(sorted(u for u in t.streak_units.get(s.streak_id, ()) if u >= since)),
            s.longest,
            s.run_start,
            s.rewarded,
        )
        for s in t.streaks.values()
    }


def _referral(r: ReferralRow | None) -> Referral | None:
    if r is None:
        return None
    return Referral(
        referrer_id=r.referrer_id,
        code=r.code,
        linked_at=r.linked_at,
        link_event_id=r.link_event_id,
        order_id=r.order_id,
        rewarded_at=r.rewarded_at,
        referee_points=r.referee_points,
        referrer_points=r.referrer_points,
        referrer_reversed=r.referrer_reversed,
    )


def _scores(
    t: MemberTables, boards: list[str], periods: list[str]
) -> dict[tuple[str, str, str], int]:
    if not boards or not periods:
        return {}
    b, p = set(boards), set(periods)
    return {k: s.score for k, s in t.scores.items() if k[0] in b and k[1] in p}


def _redemptions(t: MemberTables, member_id: str, plan: ReadPlan) -> dict[str, Redemption]:
    keys = {k for m, k in plan.redemption_keys if m == member_id}
    ids = {i for m, i in plan.redemption_ids if m == member_id}
    out: dict[str, Redemption] = {}
    for r in t.redemptions.values():
        if r.status == "held" or r.idempotency_key in keys or r.redemption_id in ids:
            out[r.redemption_id] = Redemption(
                redemption_id=r.redemption_id,
                idempotency_key=r.idempotency_key,
                request_hash=r.request_hash,
                reward_id=r.reward_id,
                points=r.points,
                status=r.status,  # type: ignore[arg-type]
                coupon_code=r.coupon_code,
                created_at=r.created_at,
                hold_expires_at=r.hold_expires_at,
                settled_at=r.settled_at,
                draws=r.draws,
                reference=r.reference,
                ruleset_version=r.ruleset_version,
            )
    return out
