"""Generated from openapi/openapi.json by `python -m clients.generate`: do not edit.

API version 0.1.0. One method per operation, named by its operation id in snake case;
bodies and answers are TypedDicts (dates and decimals as the JSON strings they travel as).
"""

# ruff: noqa: E501
from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

from loyalty_client._transport import Transport, _quote

__all__ = ["GeneratedClient"]


class Activation(TypedDict):
    activated_at: str
    activated_by: str | None
    short_version: str
    version: str


class ActiveChallenge(TypedDict):
    description: str
    ends_at: str | None
    id: str
    name: str
    progress: int
    reward_badge: str | None
    reward_points: int
    seconds_left: int | None
    step: int
    step_name: str
    steps: int
    target: int
    window_key: str


class ActiveMembers(TypedDict):
    dau: int
    days: list[ActivePeriod]
    mau: int
    months: list[ActivePeriod]
    since: str
    stickiness: float | None
    until: str
    wau: int
    weeks: list[ActivePeriod]


class ActivePeriod(TypedDict):
    members: int
    start: str


class ActiveRulesetView(TypedDict):
    activated_at: str
    files: list[str]
    program: ProgramView
    rules: list[RuleView]
    short_version: str
    version: str


class AdjustmentEntry(TypedDict):
    at: str
    balance: str
    kind: str
    lot_id: str | None
    points: int
    reason: str


class AdjustmentIn(TypedDict):
    member_id: str
    points: int
    reason: str


class AdjustmentResult(TypedDict):
    actor: str
    adjustment_id: str
    balances: BalancesView
    created_at: str
    entries: list[AdjustmentEntry]
    member_id: str
    points: int
    reason: str
    replay: NotRequired[bool]


class Affected(TypedDict):
    booked: int
    difference: int
    draft: int
    events: list[AffectedEvent]
    member_id: str


class AffectedEvent(TypedDict):
    booked: int | None
    draft: int | None
    event_id: str
    occurred_at: str
    type: str


class ArmReport(TypedDict):
    amount_per_member: Measure
    arm: str
    events_per_member: Measure
    members_exposed: int
    members_measured: int
    points_cost: int
    points_cost_per_member: Measure
    purchases_per_member: Measure
    retention_30_days: Measure
    share_percent: float


class ArmSummary(TypedDict):
    arm: str
    exposures: int
    points: int


class AttributeEffect(TypedDict):
    name: str
    reason: str
    rule_id: str
    ruleset_version: str
    type: Literal["attribute"]
    value: Any


class AuditEntry(TypedDict):
    action: str
    actor: str
    at: str
    detail: dict[str, Any]
    id: int
    key_id: str | None
    method: str
    path: str
    status: int


class AuditPage(TypedDict):
    entries: list[AuditEntry]
    next_cursor: str | None


class BacktestJob(TypedDict):
    draft_version: str
    error: NotRequired[str | None]
    id: str
    progress: Progress
    report: NotRequired[BacktestReport | None]
    since: str
    started_at: str
    status: Literal["running", "done", "failed"]
    until: str


class BacktestReport(TypedDict):
    booked: LaneReport
    cost_difference: str | None
    currency: str
    draft: LaneReport
    draft_version: str
    events: int
    events_per_second: float
    jobs: NotRequired[int]
    members: int
    most_affected: list[Affected]
    notes: NotRequired[list[str]]
    point_value: float | None
    points_difference: int
    seconds: float
    since: str
    until: str


class BacktestRequest(TypedDict):
    files: dict[str, str]
    members: NotRequired[int | None]
    since: NotRequired[str | None]
    until: NotRequired[str | None]


class BadgeEffect(TypedDict):
    badge: str
    level: NotRequired[int]
    level_name: NotRequired[str | None]
    reason: str
    rule_id: str
    ruleset_version: str
    type: Literal["badge"]


class BadgeLevelView(TypedDict):
    earned_at: str | None
    level: int
    name: str
    threshold: int


class BadgeProgress(TypedDict):
    counter: int | None
    description: str | None
    earned: bool
    earned_at: str | None
    id: str
    level: int | None
    level_name: str | None
    levels: list[BadgeLevelView]
    name: str
    next: NextBadgeLevel | None


class BadgeView(TypedDict):
    counter: int | None
    earned_at: str
    id: str
    level: int | None
    level_name: str | None
    levels: list[BadgeLevelView]
    name: str
    next: NextBadgeLevel | None


class BadgesView(TypedDict):
    badges: list[BadgeView]


class BalancesView(TypedDict):
    available: int
    debt: int
    held: int
    lifetime_earned: int
    lifetime_spent: int
    pending: int


class BatchItem(TypedDict):
    code: NotRequired[str | None]
    detail: NotRequired[str | None]
    event_id: str
    field: NotRequired[str | None]
    index: int
    result: NotRequired[EventResult | None]
    status: int


class BatchResult(TypedDict):
    processed: int
    refused: int
    replayed: int
    results: list[BatchItem]


class BoardEntry(TypedDict):
    name: str
    rank: int
    score: int
    you: NotRequired[bool]


class BoardInfo(TypedDict):
    current_period: str
    ends_at: str | None
    id: str
    metric: str
    name: str
    period: str
    segment: str | None
    starts_at: str | None


class BoardPage(TypedDict):
    board: str
    entries: list[BoardEntry]
    metric: str
    name: str
    period: str
    period_key: str
    segment: str | None


class Boards(TypedDict):
    as_of: str
    leaderboards: list[BoardInfo]
    timezone: str


class Breakage(TypedDict):
    forecast: list[MonthPoints]
    months: list[BreakageMonth]
    rate: float | None


class BreakageMonth(TypedDict):
    earned: int
    expired: int
    month: str
    rate: float | None


class Catalog(TypedDict):
    rewards: list[RewardView]
    ruleset_version: str


class ChallengeEffect(TypedDict):
    amount: int
    challenge: str
    completed: NotRequired[bool]
    progress: NotRequired[int]
    reason: str
    rule_id: str
    ruleset_version: str
    step: NotRequired[int]
    target: NotRequired[int]
    type: Literal["challenge"]
    window_key: NotRequired[str]


class ChallengeStep(TypedDict):
    added: int
    challenge: str
    completed: NotRequired[bool]
    progress: int
    step: NotRequired[int]
    target: NotRequired[int]
    window_key: NotRequired[str]


class ChallengesView(TypedDict):
    active: list[ActiveChallenge]
    as_of: str
    completed: list[CompletedChallenge]


class Cohorts(TypedDict):
    cohorts: list[SignupCohort]


class CompletedChallenge(TypedDict):
    completed_at: str
    id: str
    name: str
    window_key: str


class ComponentShown(TypedDict):
    id: str
    kind: str
    points: float
    share: float
    value: float
    weight: float


class CreatedKey(TypedDict):
    created_at: str
    created_by: str | None
    key_id: str
    last_used_at: str | None
    name: str
    revoked_at: str | None
    scopes: list[str]
    token: str


class DayPoints(TypedDict):
    day: str
    points: int


class DeliveryList(TypedDict):
    deliveries: list[DeliveryView]
    next_before: int | None


class DeliveryView(TypedDict):
    attempts: int
    created_at: str
    delivered_at: str | None
    kind: str
    last_attempt_at: str | None
    last_error: str | None
    last_status_code: int | None
    member_id: str
    message_id: str
    next_attempt_at: str | None
    seq: int
    status: Literal["pending", "delivered", "dead"]


class DryRun(TypedDict):
    effects: list[
        PointsEffect
        | BadgeEffect
        | ChallengeEffect
        | AttributeEffect
        | StreakEffect
        | ReferralEffect
    ]
    fired: list[str]
    points: int
    ruleset: Literal["active", "draft"]
    ruleset_version: str
    short_version: str
    skipped: list[Skip]


class DryRunCounters(TypedDict):
    engagement: NotRequired[str | DryRunEngagement]
    last_purchase_at: NotRequired[str | None]
    lifetime_points: NotRequired[int]
    purchases: NotRequired[int]
    referrals: NotRequired[int]
    reviews: NotRequired[int]


class DryRunEngagement(TypedDict):
    components: NotRequired[dict[str, float]]
    level: NotRequired[str]
    score: NotRequired[float]


class DryRunEvent(TypedDict):
    attributes: NotRequired[dict[str, Any]]
    id: NotRequired[str]
    member_id: str
    occurred_at: str
    type: str


class DryRunMember(TypedDict):
    attributes: NotRequired[dict[str, Any]]
    badges: NotRequired[list[str]]
    birthday: NotRequired[str | None]
    budget_remaining: NotRequired[dict[str, int]]
    counters: NotRequired[DryRunCounters]
    rule_usage: NotRequired[dict[str, UsageIn]]
    tier: NotRequired[str | None]
    tier_multiplier: NotRequired[float]
    timezone: NotRequired[str | None]


class DryRunRequest(TypedDict):
    event: DryRunEvent
    files: NotRequired[dict[str, str] | None]
    member: NotRequired[DryRunMember | None]
    member_id: NotRequired[str | None]


class EndpointChange(TypedDict):
    at_risk_hours: NotRequired[int | None]
    description: NotRequired[str | None]
    expiring_days: NotRequired[int | None]
    kinds: NotRequired[
        list[
            Literal[
                "points.earned",
                "points.reversed",
                "points.expiring",
                "tier.changed",
                "badge.awarded",
                "challenge.completed",
                "challenge.progressed",
                "streak.milestone",
                "streak.at_risk",
                "reward.redeemed",
                "engagement.changed",
            ]
        ]
        | None
    ]
    url: NotRequired[str | None]


class EndpointCreated(TypedDict):
    at_risk_hours: int
    created_at: str
    description: str
    disabled_reason: str | None
    endpoint_id: str
    expiring_days: int
    failing_since: str | None
    kinds: list[str]
    previous_secret_until: str | None
    secret: str
    status: Literal["active", "paused", "disabled"]
    updated_at: str
    url: str


class EndpointIn(TypedDict):
    at_risk_hours: NotRequired[int]
    description: NotRequired[str]
    expiring_days: NotRequired[int]
    kinds: list[
        Literal[
            "points.earned",
            "points.reversed",
            "points.expiring",
            "tier.changed",
            "badge.awarded",
            "challenge.completed",
            "challenge.progressed",
            "streak.milestone",
            "streak.at_risk",
            "reward.redeemed",
            "engagement.changed",
        ]
    ]
    url: str


class EndpointList(TypedDict):
    endpoints: list[EndpointView]


class EndpointView(TypedDict):
    at_risk_hours: int
    created_at: str
    description: str
    disabled_reason: str | None
    endpoint_id: str
    expiring_days: int
    failing_since: str | None
    kinds: list[str]
    previous_secret_until: str | None
    status: Literal["active", "paused", "disabled"]
    updated_at: str
    url: str


class EngagementLevels(TypedDict):
    days: list[LevelDay]
    levels: list[str]
    moves: list[MovesInMonth]
    now: list[MemberCount]


class EngagementMoveView(TypedDict):
    from_level: str | None
    score: float
    to_level: str


class EngagementShown(TypedDict):
    as_of: str
    components: list[ComponentShown]
    level: str
    level_name: str
    raise_most: RaiseShown | None
    score: float


class Erased(TypedDict):
    adjustment_id: str
    erased_at: str
    points_forfeited: int
    pseudonym: str


class EventBatch(TypedDict):
    events: list[EventIn]


class EventIn(TypedDict):
    attributes: NotRequired[dict[str, Any]]
    id: str
    member_id: str
    occurred_at: str
    type: str


class EventResult(TypedDict):
    badges: list[str]
    balances: BalancesView
    challenges: list[ChallengeStep]
    earned: int
    effects: list[
        PointsEffect
        | BadgeEffect
        | ChallengeEffect
        | AttributeEffect
        | StreakEffect
        | ReferralEffect
    ]
    engagement: NotRequired[EngagementMoveView | None]
    event_id: str
    failed_rules: NotRequired[list[RuleFailure]]
    forgiven: NotRequired[int]
    lots: list[LotView]
    member_id: str
    occurred_at: str
    points: int
    referral: NotRequired[str | None]
    replay: NotRequired[bool]
    reversed: int
    ruleset_version: str
    tier_moves: NotRequired[list[TierMoveView]]
    type: str


class ExperimentReport(TypedDict):
    arms: list[ArmReport]
    as_of: str
    experiment_id: str
    method: str
    summary: list[str]
    window_days: int


class ExperimentSummaries(TypedDict):
    experiments: list[ExperimentSummary]


class ExperimentSummary(TypedDict):
    arms: list[ArmSummary]
    experiment_id: str


class ExpiringPoints(TypedDict):
    expires_at: str
    lot_id: str
    points: int


class FieldError(TypedDict):
    field: str
    reason: str


class FileChange(TypedDict):
    diff: NotRequired[str | None]
    file: str
    status: Literal["added", "removed", "changed", "same"]


class GameCatalog(TypedDict):
    as_of: str
    badges: list[BadgeProgress]
    badges_earned: int
    challenges: list[ActiveChallenge]
    streaks: list[StreakView]


class Health(TypedDict):
    database: NotRequired[str | None]
    reason: NotRequired[str | None]
    status: str


class KeyIn(TypedDict):
    name: str
    scopes: list[str]


class KeyList(TypedDict):
    keys: list[KeyView]


class KeyView(TypedDict):
    created_at: str
    created_by: str | None
    key_id: str
    last_used_at: str | None
    name: str
    revoked_at: str | None
    scopes: list[str]


class LaneReport(TypedDict):
    badges: NotRequired[dict[str, int]]
    budgets_reached: NotRequired[list[str]]
    caps_reached: NotRequired[dict[str, int]]
    challenges_completed: NotRequired[dict[str, int]]
    cost: NotRequired[str | None]
    events: NotRequired[int]
    events_refused: NotRequired[int]
    failed_rules: NotRequired[dict[str, int]]
    label: str
    never_fired: NotRequired[list[str]]
    points_earned: NotRequired[int]
    points_net: NotRequired[int]
    points_reversed: NotRequired[int]
    redemptions_refused: NotRequired[int]
    rules: NotRequired[dict[str, RulePoints]]
    streak_milestones: NotRequired[dict[str, int]]
    tier_moves: NotRequired[dict[str, int]]
    tiers_at_end: NotRequired[dict[str, int]]
    versions: list[str]


class LedgerEntryView(TypedDict):
    actor: str | None
    at: str
    balance: str
    entry_no: int
    event_id: str | None
    kind: str
    lot_id: str | None
    order_id: str | None
    points: int
    reason: str
    recorded_at: str
    redemption_id: str | None
    rule_id: str | None
    ruleset_version: str | None


class LedgerPage(TypedDict):
    entries: list[LedgerEntryView]
    next_cursor: str | None


class LevelDay(TypedDict):
    day: str
    levels: dict[str, int]


class Liability(TypedDict):
    as_of: str
    available: int
    currency: str
    debt: int
    expiring: list[MonthPoints]
    held: int
    history: list[DayPoints]
    outstanding: int
    outstanding_value: str | None
    pending: int
    point_value: float | None
    without_expiry: int


class Lift(TypedDict):
    difference: float
    high: float
    low: float
    significant: bool


class LotView(TypedDict):
    activates_at: str
    expires_at: str | None
    lot_id: str
    points: int
    rule_id: str | None
    state: str


class Measure(TypedDict):
    lift: NotRequired[Lift | None]
    mean: float


class MemberArm(TypedDict):
    arm: str
    experiment_id: str
    exposed_at: str | None
    member_id: str


class MemberCount(TypedDict):
    members: int
    name: str


class MemberPage(TypedDict):
    members: list[MemberSummary]
    next_cursor: str | None


class MemberProfile(TypedDict):
    attributes: dict[str, Any]
    birthday: str | None
    created_at: str
    display_name: str | None
    hidden: bool
    member_id: str
    timezone: str | None
    updated_at: str


class MemberSummary(TypedDict):
    created_at: str
    display_name: str | None
    engagement: str
    events: int
    last_active_at: str | None
    member_id: str
    tier: str | None


class MemberView(TypedDict):
    as_of: str
    attributes: dict[str, Any]
    badges: list[str]
    balances: BalancesView
    birthday: str | None
    display_name: str | None
    engagement: NotRequired[EngagementShown | None]
    expiring_points_30_days: int
    expiring_soon: list[ExpiringPoints]
    hidden: bool
    member_id: str
    pending: list[PendingPoints]
    streaks: NotRequired[list[StreakView]]
    tier: NotRequired[TierView | None]
    timezone: str | None


class MonthPoints(TypedDict):
    month: str
    points: int
    value: str | None


class MovesInMonth(TypedDict):
    members: int
    month: str
    source: str | None
    target: str | None


class NextBadgeLevel(TypedDict):
    level: int
    missing: int
    name: str
    threshold: int


class NextTier(TypedDict):
    missing: float
    name: str
    threshold: float
    tier: str


class PendingPoints(TypedDict):
    activates_at: str
    lot_id: str
    points: int


class PointsDay(TypedDict):
    adjusted: int
    day: str
    earned: int
    expired: int
    redemptions: int
    reversed: int
    spent: int


class PointsEffect(TypedDict):
    budget: NotRequired[int | None]
    points: int
    reason: str
    rule_id: str
    ruleset_version: str
    type: Literal["points"]


class PointsReport(TypedDict):
    by_reward: list[RewardSpending]
    by_rule: list[RuleEarnings]
    days: list[PointsDay]
    since: str
    until: str


class Problem(TypedDict):
    code: NotRequired[str | None]
    detail: str
    errors: NotRequired[list[FieldError]]
    request_id: NotRequired[str | None]
    status: int
    title: str
    type: str


class ProfileUpdate(TypedDict):
    attributes: NotRequired[dict[str, str | int | float | bool | None]]
    birthday: NotRequired[str | None]
    display_name: NotRequired[str | None]
    hidden: NotRequired[bool | None]
    timezone: NotRequired[str | None]


class ProgramView(TypedDict):
    currency: str
    name: str
    timezone: str


class Progress(TypedDict):
    events_done: NotRequired[int]
    events_per_second: NotRequired[float]
    events_total: NotRequired[int]
    seconds_left: NotRequired[float | None]


class PublishRequest(TypedDict):
    files: dict[str, str]


class PublishedRuleset(TypedDict):
    activated_at: str
    changed: bool
    files: list[str]
    rules: int
    short_version: str
    version: str


class PurchaseDay(TypedDict):
    amount: str
    day: str
    purchases: int


class PurchaseMonth(TypedDict):
    active_members: int
    amount: str
    average_value: str | None
    month: str
    purchases: int
    purchases_per_member: float | None


class Purchases(TypedDict):
    currency: str
    days: list[PurchaseDay]
    months: list[PurchaseMonth]
    since: str
    until: str


class RaiseShown(TypedDict):
    component: str
    event_type: str
    hint: str
    points: float


class RedeemIn(TypedDict):
    hold: NotRequired[bool]
    points: NotRequired[int | None]
    reference: NotRequired[str | None]
    reward_id: NotRequired[str | None]


class Redelivered(TypedDict):
    redelivered: int


class Redemption(TypedDict):
    coupon_code: str | None
    created_at: str
    hold_expires_at: str | None
    id: str
    member_id: str
    points: int
    reference: str | None
    reward_id: str | None
    settled_at: str | None
    status: Literal["held", "committed", "cancelled", "expired"]


class RedemptionPage(TypedDict):
    next_cursor: str | None
    redemptions: list[Redemption]


class RedemptionResult(TypedDict):
    balances: BalancesView
    coupon_code: str | None
    created_at: str
    hold_expires_at: str | None
    id: str
    member_id: str
    points: int
    reference: str | None
    replay: NotRequired[bool]
    reward_id: str | None
    settled_at: str | None
    status: Literal["held", "committed", "cancelled", "expired"]


class Referee(TypedDict):
    linked_at: str
    member_id: str
    points: int
    rewarded_at: str | None


class ReferralEffect(TypedDict):
    reason: str
    referrer_id: str
    referrer_points: int
    rule_id: str
    ruleset_version: str
    type: Literal["referral"]


class ReferralView(TypedDict):
    code: str
    max_per_referrer: int | None
    member_id: str
    referee_points: int
    referees: list[Referee]
    referred_by: str | None
    referrer_points: int
    rewarded: int


class RewardSpending(TypedDict):
    points: int
    redemptions: int
    reward_id: str


class RewardView(TypedDict):
    cost: int
    coupon: bool
    id: str
    name: str
    per_member_limit: int | None
    stock: int | None
    stock_left: int | None


class RuleChanges(TypedDict):
    added: list[str]
    changed: list[str]
    removed: list[str]


class RuleEarnings(TypedDict):
    points: int
    rule_id: str


class RuleFailure(TypedDict):
    reason: str
    rule_id: str


class RulePoints(TypedDict):
    earned: NotRequired[int]
    fired: NotRequired[int]
    members: NotRequired[int]
    reversed: NotRequired[int]


class RuleVersion(TypedDict):
    activations: int
    active: bool
    created_at: str
    files: list[str]
    last_activated_at: str | None
    published_by: str | None
    rules: int | None
    short_version: str
    version: str


class RuleVersionView(TypedDict):
    active: bool
    created_at: str
    files: dict[str, str]
    last_activated_at: str | None
    published_by: str | None
    rules: int | None
    short_version: str
    version: str


class RuleVersions(TypedDict):
    activations: list[Activation]
    more: bool
    versions: list[RuleVersion]


class RuleView(TypedDict):
    file: str
    id: str
    line: int
    on: str
    priority: int


class RulesetDiff(TypedDict):
    a: str
    b: str
    files: list[FileChange]
    rules: RuleChanges | None


class SecretRotated(TypedDict):
    endpoint_id: str
    previous_secret_until: str
    secret: str


class SecretRotation(TypedDict):
    overlap_seconds: NotRequired[int]


class SignupCohort(TypedDict):
    members: int
    rates: list[float]
    retained: list[int]
    week: str


class Skip(TypedDict):
    detail: str
    reason: Literal[
        "wrong_type",
        "condition_false",
        "out_of_schedule",
        "cap_reached",
        "stopped_by_earlier_rule",
        "error",
    ]
    rule_id: str


class Standing(TypedDict):
    above: list[BoardEntry]
    below: list[BoardEntry]
    board: str
    entry: BoardEntry | None
    gap: int | None
    metric: str
    name: str
    period: str
    period_key: str
    rank: int | None
    ranked: bool
    score: int
    segment: str | None
    total: int


class StoredEvent(TypedDict):
    attributes: dict[str, Any]
    event_id: str
    member_id: str
    occurred_at: str
    received_at: str
    result: EventResult
    ruleset_version: str | None
    type: str


class StreakEffect(TypedDict):
    current: int
    longest: int
    reason: str
    rewarded: int
    rule_id: str
    ruleset_version: str
    run_start: str | None
    streak: str
    type: Literal["streak"]
    unit: str


class StreakView(TypedDict):
    current: int
    freezes_left: int
    freezes_per_month: int
    id: str
    longest: int
    name: str
    next_milestone: int | None
    unit: str


class TierMoveView(TypedDict):
    at: str
    from_tier: str | None
    reason: str
    to_tier: str | None


class TierReport(TypedDict):
    distribution: list[MemberCount]
    moves: list[MovesInMonth]


class TierView(TypedDict):
    benefits: list[str]
    current: str | None
    history: list[TierMoveView]
    lapses_at: str | None
    metric: str
    multiplier: float
    name: str | None
    next: NextTier | None
    since: str | None
    value: float
    window: str


class TokenIssued(TypedDict):
    expires_at: str
    member_id: str
    token: str
    token_type: NotRequired[str]


class TopMember(TypedDict):
    available: int
    display_name: str | None
    lifetime_earned: int
    member_id: str
    pending: int


class TopMembers(TypedDict):
    members: list[TopMember]


class UsageIn(TypedDict):
    points: NotRequired[int]
    times: NotRequired[int]


class GeneratedClient(Transport):
    """Every operation of the API (see `loyalty_client.LoyaltyClient`)."""

    def cancel_redemption(self, redemption_id: str) -> RedemptionResult:
        """`POST /v1/redemptions/{redemption_id}/cancel`: Cancel a hold: its points, stock and coupon code go back"""
        return cast(
            "RedemptionResult",
            self._send(
                "POST",
                f"/v1/redemptions/{_quote(redemption_id)}/cancel",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def commit_redemption(self, redemption_id: str) -> RedemptionResult:
        """`POST /v1/redemptions/{redemption_id}/commit`: Commit a hold: spend the points it reserved"""
        return cast(
            "RedemptionResult",
            self._send(
                "POST",
                f"/v1/redemptions/{_quote(redemption_id)}/commit",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def create_key(self, *, body: KeyIn) -> CreatedKey:
        """`POST /v1/admin/keys`: Create an API key (its secret is answered once)"""
        return cast(
            "CreatedKey",
            self._send("POST", "/v1/admin/keys", query={}, headers={}, body=body, reads="json"),
        )

    def create_webhook_endpoint(self, *, body: EndpointIn) -> EndpointCreated:
        """`POST /v1/admin/webhooks/endpoints`: Subscribe a URL to kinds of webhook; answers the signing secret once"""
        return cast(
            "EndpointCreated",
            self._send(
                "POST",
                "/v1/admin/webhooks/endpoints",
                query={},
                headers={},
                body=body,
                reads="json",
            ),
        )

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        """`DELETE /v1/admin/webhooks/endpoints/{endpoint_id}`: Delete an endpoint and every delivery waiting for it"""
        self._send(
            "DELETE",
            f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}",
            query={},
            headers={},
            body=None,
            reads="none",
        )

    def diff_rule_versions(self, a: str, b: str) -> RulesetDiff:
        """`GET /v1/admin/rules/versions/{a}/diff/{b}`: How ruleset version b differs from version a: files, then rules"""
        return cast(
            "RulesetDiff",
            self._send(
                "GET",
                f"/v1/admin/rules/versions/{_quote(a)}/diff/{_quote(b)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def dry_run_rules(self, *, body: DryRunRequest) -> DryRun:
        """`POST /v1/admin/rules/dry-run`: Evaluate one event under the active ruleset or a draft, without writing anything"""
        return cast(
            "DryRun",
            self._send(
                "POST", "/v1/admin/rules/dry-run", query={}, headers={}, body=body, reads="json"
            ),
        )

    def erase_member(self, member_id: str) -> Erased:
        """`DELETE /v1/members/{member_id}`: Erase a member who asked to be forgotten"""
        return cast(
            "Erased",
            self._send(
                "DELETE",
                f"/v1/members/{_quote(member_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_active_member_report(
        self, *, since: str | None = None, until: str | None = None
    ) -> ActiveMembers:
        """`GET /v1/admin/reports/active-members`: Active members per day, week and month (DAU, WAU, MAU)"""
        return cast(
            "ActiveMembers",
            self._send(
                "GET",
                "/v1/admin/reports/active-members",
                query={"since": since, "until": until},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_backtest(self, backtest_id: str) -> BacktestJob:
        """`GET /v1/admin/rules/backtests/{backtest_id}`: A backtest: its progress, and its report once done"""
        return cast(
            "BacktestJob",
            self._send(
                "GET",
                f"/v1/admin/rules/backtests/{_quote(backtest_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_board(
        self,
        board: str,
        *,
        period: str | None = None,
        segment: str | None = None,
        limit: int | None = None,
    ) -> BoardPage:
        """`GET /v1/leaderboards/{board}`: The top of a leaderboard"""
        return cast(
            "BoardPage",
            self._send(
                "GET",
                f"/v1/leaderboards/{_quote(board)}",
                query={"period": period, "segment": segment, "limit": limit},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_breakage_report(self, *, months: int | None = None) -> Breakage:
        """`GET /v1/admin/reports/breakage`: Points expired over points earned per month, and the expiry scheduled ahead"""
        return cast(
            "Breakage",
            self._send(
                "GET",
                "/v1/admin/reports/breakage",
                query={"months": months},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_cohort_report(self, *, weeks: int | None = None) -> Cohorts:
        """`GET /v1/admin/reports/cohorts`: Weekly signup cohorts and their retention week by week"""
        return cast(
            "Cohorts",
            self._send(
                "GET",
                "/v1/admin/reports/cohorts",
                query={"weeks": weeks},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_engagement_level_report(
        self, *, since: str | None = None, until: str | None = None
    ) -> EngagementLevels:
        """`GET /v1/admin/reports/engagement-levels`: Members per engagement level per day, now, and the level moves per month"""
        return cast(
            "EngagementLevels",
            self._send(
                "GET",
                "/v1/admin/reports/engagement-levels",
                query={"since": since, "until": until},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_experiment_arm(self, experiment_id: str, member_id: str) -> MemberArm:
        """`GET /v1/admin/experiments/{experiment_id}/members/{member_id}`: The arm a member is in (admins only; members never see it)"""
        return cast(
            "MemberArm",
            self._send(
                "GET",
                f"/v1/admin/experiments/{_quote(experiment_id)}/members/{_quote(member_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_experiment_report(
        self, experiment_id: str, *, window_days: int | None = None
    ) -> ExperimentReport:
        """`GET /v1/admin/experiments/{experiment_id}/report`: The lift of an experiment: each arm against the holdout, with 95% intervals"""
        return cast(
            "ExperimentReport",
            self._send(
                "GET",
                f"/v1/admin/experiments/{_quote(experiment_id)}/report",
                query={"window_days": window_days},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_experiment_summary_report(self) -> ExperimentSummaries:
        """`GET /v1/admin/reports/experiments`: Every experiment's exposures and points per arm"""
        return cast(
            "ExperimentSummaries",
            self._send(
                "GET",
                "/v1/admin/reports/experiments",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_liability_report(self) -> Liability:
        """`GET /v1/admin/reports/liability`: Points owed now, their value, and when they expire by month"""
        return cast(
            "Liability",
            self._send(
                "GET", "/v1/admin/reports/liability", query={}, headers={}, body=None, reads="json"
            ),
        )

    def get_live(self) -> Health:
        """`GET /health/live`: The process is up"""
        return cast(
            "Health",
            self._send("GET", "/health/live", query={}, headers={}, body=None, reads="json"),
        )

    def get_me(self) -> MemberView:
        """`GET /v1/me`: The calling member's profile"""
        return cast(
            "MemberView", self._send("GET", "/v1/me", query={}, headers={}, body=None, reads="json")
        )

    def get_member(self, member_id: str) -> MemberView:
        """`GET /v1/members/{member_id}`: A member's profile and summaries"""
        return cast(
            "MemberView",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_badges(self, member_id: str) -> BadgesView:
        """`GET /v1/members/{member_id}/badges`: A member's badges, with dates and progress to the next level"""
        return cast(
            "BadgesView",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/badges",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_catalog(self, member_id: str) -> GameCatalog:
        """`GET /v1/members/{member_id}/catalog`: Every badge, running challenge and streak, with the member's progress"""
        return cast(
            "GameCatalog",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/catalog",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_challenges(self, member_id: str) -> ChallengesView:
        """`GET /v1/members/{member_id}/challenges`: A member's active challenges (progress, time left) and completed ones"""
        return cast(
            "ChallengesView",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/challenges",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_event(self, member_id: str, event_id: str) -> StoredEvent:
        """`GET /v1/members/{member_id}/events/{event_id}`: One of a member's events, with the answer it got (what it did)"""
        return cast(
            "StoredEvent",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/events/{_quote(event_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_ledger(
        self, member_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> LedgerPage:
        """`GET /v1/members/{member_id}/ledger`: A member's ledger, newest first, each entry with its explanation"""
        return cast(
            "LedgerPage",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/ledger",
                query={"limit": limit, "cursor": cursor},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_referral(self, member_id: str) -> ReferralView:
        """`GET /v1/members/{member_id}/referral`: A member's referral code (made on first ask) and their referrals"""
        return cast(
            "ReferralView",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/referral",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_member_standing(
        self, board: str, member_id: str, *, period: str | None = None, segment: str | None = None
    ) -> Standing:
        """`GET /v1/leaderboards/{board}/members/{member_id}`: A member's rank, score, neighbours and gap to the next rank"""
        return cast(
            "Standing",
            self._send(
                "GET",
                f"/v1/leaderboards/{_quote(board)}/members/{_quote(member_id)}",
                query={"period": period, "segment": segment},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_metrics(self) -> str:
        """`GET /metrics`: Prometheus metrics"""
        return cast(
            "str", self._send("GET", "/metrics", query={}, headers={}, body=None, reads="text")
        )

    def get_my_badges(self) -> BadgesView:
        """`GET /v1/me/badges`: The calling member's badges"""
        return cast(
            "BadgesView",
            self._send("GET", "/v1/me/badges", query={}, headers={}, body=None, reads="json"),
        )

    def get_my_catalog(self) -> GameCatalog:
        """`GET /v1/me/catalog`: Every badge, running challenge and streak, with the calling member's progress"""
        return cast(
            "GameCatalog",
            self._send("GET", "/v1/me/catalog", query={}, headers={}, body=None, reads="json"),
        )

    def get_my_challenges(self) -> ChallengesView:
        """`GET /v1/me/challenges`: The calling member's challenges"""
        return cast(
            "ChallengesView",
            self._send("GET", "/v1/me/challenges", query={}, headers={}, body=None, reads="json"),
        )

    def get_my_ledger(self, *, limit: int | None = None, cursor: str | None = None) -> LedgerPage:
        """`GET /v1/me/ledger`: The calling member's ledger"""
        return cast(
            "LedgerPage",
            self._send(
                "GET",
                "/v1/me/ledger",
                query={"limit": limit, "cursor": cursor},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_my_referral(self) -> ReferralView:
        """`GET /v1/me/referral`: The calling member's referral"""
        return cast(
            "ReferralView",
            self._send("GET", "/v1/me/referral", query={}, headers={}, body=None, reads="json"),
        )

    def get_my_standing(
        self, board: str, *, period: str | None = None, segment: str | None = None
    ) -> Standing:
        """`GET /v1/me/leaderboards/{board}`: The calling member's rank on a leaderboard"""
        return cast(
            "Standing",
            self._send(
                "GET",
                f"/v1/me/leaderboards/{_quote(board)}",
                query={"period": period, "segment": segment},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_points_report(
        self, *, since: str | None = None, until: str | None = None
    ) -> PointsReport:
        """`GET /v1/admin/reports/points`: Points earned, spent, expired and reversed per day; per rule and per reward"""
        return cast(
            "PointsReport",
            self._send(
                "GET",
                "/v1/admin/reports/points",
                query={"since": since, "until": until},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_purchase_report(
        self, *, since: str | None = None, until: str | None = None
    ) -> Purchases:
        """`GET /v1/admin/reports/purchases`: Purchases and their average value per day and month, purchases per member"""
        return cast(
            "Purchases",
            self._send(
                "GET",
                "/v1/admin/reports/purchases",
                query={"since": since, "until": until},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_ready(self) -> Health:
        """`GET /health/ready`: The service can serve: the database answers and a ruleset is active"""
        return cast(
            "Health",
            self._send("GET", "/health/ready", query={}, headers={}, body=None, reads="json"),
        )

    def get_redemption(self, redemption_id: str) -> Redemption:
        """`GET /v1/redemptions/{redemption_id}`: One redemption by its id"""
        return cast(
            "Redemption",
            self._send(
                "GET",
                f"/v1/redemptions/{_quote(redemption_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_rule_version(self, version: str) -> RuleVersionView:
        """`GET /v1/admin/rules/versions/{version}`: One stored ruleset version with the text of its files"""
        return cast(
            "RuleVersionView",
            self._send(
                "GET",
                f"/v1/admin/rules/versions/{_quote(version)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_rules(self) -> ActiveRulesetView:
        """`GET /v1/admin/rules`: The active ruleset: version, program, files and rules"""
        return cast(
            "ActiveRulesetView",
            self._send("GET", "/v1/admin/rules", query={}, headers={}, body=None, reads="json"),
        )

    def get_tier_report(self, *, months: int | None = None) -> TierReport:
        """`GET /v1/admin/reports/tiers`: Members per tier now, and the tier moves per month"""
        return cast(
            "TierReport",
            self._send(
                "GET",
                "/v1/admin/reports/tiers",
                query={"months": months},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_top_member_report(self, *, limit: int | None = None) -> TopMembers:
        """`GET /v1/admin/reports/top-members`: The members holding the most available points"""
        return cast(
            "TopMembers",
            self._send(
                "GET",
                "/v1/admin/reports/top-members",
                query={"limit": limit},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def get_webhook_endpoint(self, endpoint_id: str) -> EndpointView:
        """`GET /v1/admin/webhooks/endpoints/{endpoint_id}`: One webhook endpoint"""
        return cast(
            "EndpointView",
            self._send(
                "GET",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def list_audit_log(self, *, limit: int | None = None, cursor: str | None = None) -> AuditPage:
        """`GET /v1/admin/audit`: The audit log: every admin action (who, what, when), newest first"""
        return cast(
            "AuditPage",
            self._send(
                "GET",
                "/v1/admin/audit",
                query={"limit": limit, "cursor": cursor},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def list_boards(self) -> Boards:
        """`GET /v1/leaderboards`: The program's leaderboards and their current periods"""
        return cast(
            "Boards",
            self._send("GET", "/v1/leaderboards", query={}, headers={}, body=None, reads="json"),
        )

    def list_keys(self) -> KeyList:
        """`GET /v1/admin/keys`: Every API key: name, scopes, created, last used (never a secret)"""
        return cast(
            "KeyList",
            self._send("GET", "/v1/admin/keys", query={}, headers={}, body=None, reads="json"),
        )

    def list_member_redemptions(
        self, member_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> RedemptionPage:
        """`GET /v1/members/{member_id}/redemptions`: A member's redemptions, newest first"""
        return cast(
            "RedemptionPage",
            self._send(
                "GET",
                f"/v1/members/{_quote(member_id)}/redemptions",
                query={"limit": limit, "cursor": cursor},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def list_my_redemptions(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> RedemptionPage:
        """`GET /v1/me/redemptions`: The calling member's redemptions, newest first"""
        return cast(
            "RedemptionPage",
            self._send(
                "GET",
                "/v1/me/redemptions",
                query={"limit": limit, "cursor": cursor},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def list_rewards(self) -> Catalog:
        """`GET /v1/rewards`: The reward catalog: cost, stock left, per-member limit"""
        return cast(
            "Catalog",
            self._send("GET", "/v1/rewards", query={}, headers={}, body=None, reads="json"),
        )

    def list_rule_versions(self, *, limit: int | None = None) -> RuleVersions:
        """`GET /v1/admin/rules/versions`: Every stored ruleset version, newest first, and the history of activations"""
        return cast(
            "RuleVersions",
            self._send(
                "GET",
                "/v1/admin/rules/versions",
                query={"limit": limit},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def list_webhook_deliveries(
        self,
        endpoint_id: str,
        *,
        status: Literal["pending", "delivered", "dead", None] | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> DeliveryList:
        """`GET /v1/admin/webhooks/endpoints/{endpoint_id}/deliveries`: An endpoint's deliveries: status, attempts, last answer and when"""
        return cast(
            "DeliveryList",
            self._send(
                "GET",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}/deliveries",
                query={"status": status, "before": before, "limit": limit},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def list_webhook_endpoints(self) -> EndpointList:
        """`GET /v1/admin/webhooks/endpoints`: Every webhook endpoint, with its status (and why it was disabled)"""
        return cast(
            "EndpointList",
            self._send(
                "GET", "/v1/admin/webhooks/endpoints", query={}, headers={}, body=None, reads="json"
            ),
        )

    def mint_member_token(self, member_id: str) -> TokenIssued:
        """`POST /v1/members/{member_id}/tokens`: Mint a short-lived member token for the member's app"""
        return cast(
            "TokenIssued",
            self._send(
                "POST",
                f"/v1/members/{_quote(member_id)}/tokens",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def pause_webhook_endpoint(self, endpoint_id: str) -> EndpointView:
        """`POST /v1/admin/webhooks/endpoints/{endpoint_id}/pause`: Pause an endpoint: messages are kept for it but not sent"""
        return cast(
            "EndpointView",
            self._send(
                "POST",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}/pause",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def post_adjustment(
        self, *, body: AdjustmentIn, idempotency_key: str | None = None
    ) -> AdjustmentResult:
        """`POST /v1/admin/adjustments`: Add or remove a member's points, with the reason why"""
        return cast(
            "AdjustmentResult",
            self._send(
                "POST",
                "/v1/admin/adjustments",
                query={},
                headers={"Idempotency-Key": idempotency_key},
                body=body,
                reads="json",
            ),
        )

    def post_event(self, *, body: EventIn) -> EventResult:
        """`POST /v1/events`: Post one event (purchase, refund, review, referral, signup, checkin, custom)"""
        return cast(
            "EventResult",
            self._send("POST", "/v1/events", query={}, headers={}, body=body, reads="json"),
        )

    def post_event_batch(self, *, body: EventBatch) -> BatchResult:
        """`POST /v1/events/batch`: Post up to 1,000 events; a result per event"""
        return cast(
            "BatchResult",
            self._send("POST", "/v1/events/batch", query={}, headers={}, body=body, reads="json"),
        )

    def publish_rules(self, *, body: PublishRequest) -> PublishedRuleset:
        """`POST /v1/admin/rules`: Publish a ruleset: checked, stored and activated on every replica"""
        return cast(
            "PublishedRuleset",
            self._send("POST", "/v1/admin/rules", query={}, headers={}, body=body, reads="json"),
        )

    def put_member(self, member_id: str, *, body: ProfileUpdate) -> MemberProfile:
        """`PUT /v1/members/{member_id}`: Create or update a member's profile"""
        return cast(
            "MemberProfile",
            self._send(
                "PUT",
                f"/v1/members/{_quote(member_id)}",
                query={},
                headers={},
                body=body,
                reads="json",
            ),
        )

    def redeem(
        self, member_id: str, *, body: RedeemIn, idempotency_key: str | None
    ) -> RedemptionResult:
        """`POST /v1/members/{member_id}/redemptions`: Redeem points on a reward or at checkout, at once or as a hold"""
        return cast(
            "RedemptionResult",
            self._send(
                "POST",
                f"/v1/members/{_quote(member_id)}/redemptions",
                query={},
                headers={"Idempotency-Key": idempotency_key},
                body=body,
                reads="json",
            ),
        )

    def redeliver_webhook_dead_letters(self, endpoint_id: str) -> Redelivered:
        """`POST /v1/admin/webhooks/endpoints/{endpoint_id}/dead-letters/redeliver`: Send every dead letter of an endpoint again"""
        return cast(
            "Redelivered",
            self._send(
                "POST",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}/dead-letters/redeliver",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def redeliver_webhook_delivery(self, endpoint_id: str, message_id: str) -> Redelivered:
        """`POST /v1/admin/webhooks/endpoints/{endpoint_id}/deliveries/{message_id}/redeliver`: Send one dead letter again"""
        return cast(
            "Redelivered",
            self._send(
                "POST",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}/deliveries/{_quote(message_id)}/redeliver",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def resume_webhook_endpoint(self, endpoint_id: str) -> EndpointView:
        """`POST /v1/admin/webhooks/endpoints/{endpoint_id}/resume`: Resume a paused endpoint, or re-enable one the service disabled"""
        return cast(
            "EndpointView",
            self._send(
                "POST",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}/resume",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def revoke_key(self, key_id: str) -> KeyView:
        """`DELETE /v1/admin/keys/{key_id}`: Revoke an API key"""
        return cast(
            "KeyView",
            self._send(
                "DELETE",
                f"/v1/admin/keys/{_quote(key_id)}",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def roll_back_rules(self, version: str) -> PublishedRuleset:
        """`POST /v1/admin/rules/versions/{version}/rollback`: Roll back: publish a stored version's files again, on every replica"""
        return cast(
            "PublishedRuleset",
            self._send(
                "POST",
                f"/v1/admin/rules/versions/{_quote(version)}/rollback",
                query={},
                headers={},
                body=None,
                reads="json",
            ),
        )

    def rotate_webhook_secret(
        self, endpoint_id: str, *, body: SecretRotation | None
    ) -> SecretRotated:
        """`POST /v1/admin/webhooks/endpoints/{endpoint_id}/secret`: Rotate the signing secret; the old one keeps signing for an overlap"""
        return cast(
            "SecretRotated",
            self._send(
                "POST",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}/secret",
                query={},
                headers={},
                body=body,
                reads="json",
            ),
        )

    def search_members(
        self,
        *,
        id_prefix: str | None = None,
        name: str | None = None,
        attribute: str | None = None,
        value: str | None = None,
        tier: str | None = None,
        engagement: str | None = None,
        active_after: str | None = None,
        active_before: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> MemberPage:
        """`GET /v1/members`: Search members: id prefix, name, attribute, tier, engagement, last active"""
        return cast(
            "MemberPage",
            self._send(
                "GET",
                "/v1/members",
                query={
                    "id_prefix": id_prefix,
                    "name": name,
                    "attribute": attribute,
                    "value": value,
                    "tier": tier,
                    "engagement": engagement,
                    "active_after": active_after,
                    "active_before": active_before,
                    "limit": limit,
                    "cursor": cursor,
                },
                headers={},
                body=None,
                reads="json",
            ),
        )

    def start_backtest(self, *, body: BacktestRequest) -> BacktestJob:
        """`POST /v1/admin/rules/backtests`: Start a backtest: the draft replayed over a stored period beside the booked rules"""
        return cast(
            "BacktestJob",
            self._send(
                "POST", "/v1/admin/rules/backtests", query={}, headers={}, body=body, reads="json"
            ),
        )

    def update_webhook_endpoint(self, endpoint_id: str, *, body: EndpointChange) -> EndpointView:
        """`PATCH /v1/admin/webhooks/endpoints/{endpoint_id}`: Change an endpoint's URL, kinds, description or timing"""
        return cast(
            "EndpointView",
            self._send(
                "PATCH",
                f"/v1/admin/webhooks/endpoints/{_quote(endpoint_id)}",
                query={},
                headers={},
                body=body,
                reads="json",
            ),
        )
