"""The schema, written once in SQLAlchemy Core; migrations and queries are built from it.

Every member-owned table leads its primary key with `member_id` so that the schema can be
distributed by member (Citus) without changes; rulesets and API keys are small reference tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

__all__ = [
    "active_ruleset",
    "adjustments",
    "api_keys",
    "audit_log",
    "balances",
    "board_buckets",
    "board_scores",
    "challenge_progress",
    "coupon_codes",
    "erasures",
    "events",
    "ledger_entries",
    "lots",
    "member_badge_levels",
    "member_badges",
    "member_counters",
    "member_streaks",
    "member_tiers",
    "members",
    "metadata",
    "orders",
    "redemptions",
    "referral_codes",
    "referrals",
    "reward_stock",
    "rule_budgets",
    "rule_usage",
    "ruleset_activations",
    "rulesets",
    "service_secrets",
    "streak_units",
    "tier_history",
    "tier_metric_days",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_messages",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("secret_hash", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("created_by", Text),
    Column("last_used_at", DateTime(timezone=True)),
)
"""`created_by` names the key that created it over HTTP (null from the CLI); `last_used_at` is
written at most once a minute per key."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor", Text, nullable=False),
    Column("key_id", Text),
    Column("action", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("status", Integer, nullable=False),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)
"""Every admin action answered below 400: who (the key's name and id), what (the operation id,
method, path, status and a few words of detail), when."""

erasures = Table(
    "erasures",
    metadata,
    Column("pseudonym", Text, primary_key=True),
    Column("erased_at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("points_forfeited", BigInteger, nullable=False),
)
"""Members erased at their request, by the pseudonym their history now carries (the id it
replaced is kept nowhere)."""

members = Table(
    "members",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("display_name", Text),
    Column("timezone", Text),
    Column("birthday", Date),
    Column("hidden", Boolean, nullable=False, server_default="false"),
    Column("attributes", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("events_seen", Integer, nullable=False, server_default="0"),
    Column("erased_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("member_id"),
    CheckConstraint("length(member_id) BETWEEN 1 AND 128", name="member_id_length"),
)

# Member search (service.store.member_search): ids in byte order, so that an id prefix is one
# index range and the cursor order is the index order; names lower-cased for prefix search.
Index("ix_members_search_id", text('(member_id COLLATE "C")'))
Index(
    "ix_members_search_name",
    text("(lower(display_name)) text_pattern_ops"),
    text('(member_id COLLATE "C")'),
)
Index(
    "ix_members_search_attributes",
    members.c.attributes,
    postgresql_using="gin",
    postgresql_ops={"attributes": "jsonb_path_ops"},
)

service_secrets = Table(
    "service_secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Secrets the service generates once and every replica shares (e.g. the default token key)."""

# -- rules ------------------------------------------------------------------------------------

rulesets = Table(
    "rulesets",
    metadata,
    Column("version", Text, primary_key=True),
    Column("files", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_by", Text),
    Column("rule_count", Integer),
)
"""Every ruleset ever published, with the exact text of its files (explanations cite them).
`rule_count` is kept at publication so that listing versions loads none of them; it is null
for versions stored before it was kept (filled the first time they are listed)."""

active_ruleset = Table(
    "active_ruleset",
    metadata,
    Column("singleton", Boolean, primary_key=True, server_default="true"),
    Column("version", Text, nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("singleton", name="one_row"),
)
"""The one active version; changed in the same transaction as a NOTIFY to every replica."""

ruleset_activations = Table(
    "ruleset_activations",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("version", Text, ForeignKey("rulesets.version"), nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("activated_by", Text),
    Index("ix_ruleset_activations_version", "version"),
)
"""Every activation of a version, oldest first: written with the change of `active_ruleset`
in one transaction. `activated_by` is null for the activation in force when this history began
(who made it was not recorded)."""

rule_budgets = Table(
    "rule_budgets",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("spent", BigInteger, nullable=False, server_default="0"),
)
"""Points granted so far by each rule with a global budget (a conditional UPDATE caps it)."""

# -- events and the ledger (member-owned: member_id leads every key) --------------------------

events = Table(
    "events",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("body_hash", Text, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("ruleset_version", Text),
    Column("result", JSONB, nullable=False),
    Column("seq", BigInteger, nullable=False, server_default=text("nextval('decision_seq')")),
    PrimaryKeyConstraint("member_id", "event_id"),
)
"""Every accepted event, its body hash (idempotency) and the answer it got (replays)."""

balances = Table(
    "balances",
    metadata,
    Column("member_id", Text, primary_key=True),
    Column("available", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    Column("debt", BigInteger, nullable=False, server_default="0"),
    Column("lifetime_earned", BigInteger, nullable=False, server_default="0"),
    Column("lifetime_spent", BigInteger, nullable=False, server_default="0"),
    Column("entries", BigInteger, nullable=False, server_default="0"),
    Column("next_maturity_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""A member's balances: always the sum of their ledger entries (`loyalty ledger verify`)."""

Index("ix_balances_top", balances.c.available.desc(), balances.c.member_id)
"""The members holding the most available points (the top-members report)."""

lots = Table(
    "lots",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("lot_id", Text, nullable=False),
    Column("earned_at", DateTime(timezone=True), nullable=False),
    Column("activates_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("points", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("state", Text, nullable=False),
    Column("event_id", Text),
    Column("rule_id", Text),
    Column("ruleset_version", Text),
    Column("order_id", Text),
    PrimaryKeyConstraint("member_id", "lot_id"),
    CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
)
"""Points earned together; spent oldest first, expired per lot."""

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("entry_no", BigInteger, nullable=False),
    Column("kind", Text, nullable=False),
    Column("balance", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("lot_id", Text),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("event_id", Text),
    Column("rule_id", Text),
    Column("ruleset_version", Text),
    Column("redemption_id", Text),
    Column("order_id", Text),
    Column("actor", Text),
    PrimaryKeyConstraint("member_id", "entry_no"),
)
"""Append-only: never updated or deleted; every balance change is one row that says why."""

orders = Table(
    "orders",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("order_id", Text, nullable=False),
    Column("purchase_event_id", Text, nullable=False),
    Column("amount", Numeric(18, 4), nullable=False),
    Column("points_earned", BigInteger, nullable=False),
    Column("refunded_amount", Numeric(18, 4), nullable=False, server_default="0"),
    Column("points_reversed", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("member_id", "order_id"),
)
"""A purchase's amount and points, so that refunds reverse them proportionally."""

rule_usage = Table(
    "rule_usage",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("period_key", Text, nullable=False),
    Column("times", Integer, nullable=False, server_default="0"),
    Column("points", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("member_id", "rule_id", "period_key"),
)
"""How often and for how many points each rule fired for a member per cap period."""

member_counters = Table(
    "member_counters",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("count", BigInteger, nullable=False, server_default="0"),
    Column("last_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("member_id", "event_type"),
)
"""Events seen per member and type (rules read them as member.purchases, member.reviews)."""

Index("ix_member_counters_last_at", member_counters.c.last_at)

member_badges = Table(
    "member_badges",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("badge_id", Text, nullable=False),
    Column("level", Integer, nullable=False, server_default="1"),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("event_id", Text),
    Column("rule_id", Text),
    PrimaryKeyConstraint("member_id", "badge_id"),
)
"""Badges a member holds."""

challenge_progress = Table(
    "challenge_progress",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("challenge_id", Text, nullable=False),
    Column("window_key", Text, nullable=False),
    Column("progress", BigInteger, nullable=False, server_default="0"),
    Column("completed_at", DateTime(timezone=True)),
    Column("step", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("member_id", "challenge_id", "window_key"),
)
"""Progress per member, challenge and window: the current step (0-based) and progress in it."""

# -- rewards and redemptions ------------------------------------------------------------------

reward_stock = Table(
    "reward_stock",
    metadata,
    Column("reward_id", Text, primary_key=True),
    Column("issued", Integer, nullable=False, server_default="0"),
)
"""Units of each stocked reward handed out (a conditional UPDATE keeps it within stock)."""

coupon_codes = Table(
    "coupon_codes",
    metadata,
    Column("reward_id", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("member_id", Text),
    Column("redemption_id", Text),
    Column("issued_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("reward_id", "code"),
)
"""Codes from a reward's pool, each issued at most once."""

redemptions = Table(
    "redemptions",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("redemption_id", Text, nullable=False),
    Column("idempotency_key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("reward_id", Text),
    Column("points", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("coupon_code", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("hold_expires_at", DateTime(timezone=True)),
    Column("settled_at", DateTime(timezone=True)),
    Column("draws", JSONB, nullable=False, server_default="[]"),
    Column("reference", Text),
    Column("ruleset_version", Text),
    Column("seq", BigInteger, nullable=False, server_default=text("nextval('decision_seq')")),
    Column("settled_seq", BigInteger),
    PrimaryKeyConstraint("member_id", "redemption_id"),
    UniqueConstraint("member_id", "idempotency_key"),
)
"""Spending on a reward or at checkout; a hold reserves points until commit, cancel or timeout.

`reference` is the caller's (e.g. the checkout's order id); `draws` the lots a hold took from."""

adjustments = Table(
    "adjustments",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("adjustment_id", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("request_hash", Text, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("result", JSONB, nullable=False),
    Column("ruleset_version", Text),
    Column("seq", BigInteger, nullable=False, server_default=text("nextval('decision_seq')")),
    PrimaryKeyConstraint("member_id", "adjustment_id"),
    UniqueConstraint("member_id", "idempotency_key"),
)
"""Admin corrections: who, why, and the answer given (replayed for a repeated Idempotency-Key)."""

Index("ix_balances_next_maturity_at", balances.c.next_maturity_at)
Index("events_seq", events.c.seq)
Index("redemptions_seq", redemptions.c.seq)
Index("adjustments_seq", adjustments.c.seq)
Index(
    "ix_redemptions_hold_expires_at",
    redemptions.c.hold_expires_at,
    postgresql_where=redemptions.c.status == "held",
)

# -- leaderboards -----------------------------------------------------------------------------

board_scores = Table(
    "board_scores",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("board_id", Text, nullable=False),
    Column("period_key", Text, nullable=False),
    Column("segment", Text, nullable=False),
    Column("score", BigInteger, nullable=False),
    Column("reached_at", DateTime(timezone=True), nullable=False),
    Column("neg_score", BigInteger, Computed("-score", persisted=True), nullable=False),
    PrimaryKeyConstraint("member_id", "board_id", "period_key", "segment"),
)
"""A member's score on a board per period and segment ('' when the board has no segment).

`neg_score` makes the board order (score desc, reached_at, member_id) all-ascending, so "who is
ahead of me" is one row comparison over one index range."""

Index(
    "ix_board_scores_order",
    board_scores.c.board_id,
    board_scores.c.period_key,
    board_scores.c.segment,
    board_scores.c.neg_score,
    board_scores.c.reached_at,
    board_scores.c.member_id,
)

board_buckets = Table(
    "board_buckets",
    metadata,
    Column("board_id", Text, nullable=False),
    Column("period_key", Text, nullable=False),
    Column("segment", Text, nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("shard", Integer, nullable=False),
    Column("members", BigInteger, nullable=False),
    PrimaryKeyConstraint("board_id", "period_key", "segment", "level", "bucket", "shard"),
)
"""The score histogram: members per score bucket (level 0) and per group of 32 buckets (level 1;
service.core.boards), each count split over a few shard rows to spread row-lock contention;
only the sum over shards is meaningful."""

# -- gamification: tiers, badge levels, streaks, referrals (member_id leads every key) ---------

member_tiers = Table(
    "member_tiers",
    metadata,
    Column("member_id", Text, primary_key=True),
    Column("tier", Text),
    Column("since", DateTime(timezone=True)),
    Column("held_until", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""A member's tier, since when, and when it lapses unless requalified (the worker's due date)."""

Index("ix_member_tiers_held_until", member_tiers.c.held_until)
Index("ix_member_tiers_tier", member_tiers.c.tier, member_tiers.c.member_id)

tier_history = Table(
    "tier_history",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("from_tier", Text),
    Column("to_tier", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("member_id", "seq"),
)
"""Every tier move with its reason; append-only."""

member_engagement = Table(
    "member_engagement",
    metadata,
    Column("member_id", Text, primary_key=True),
    Column("level", Text, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("drops_at", DateTime(timezone=True)),
)
"""A member's engagement level as last decided, since when, the number of its latest history
line, and when it falls a level by time alone (the worker's due date; null: never)."""

Index("ix_member_engagement_drops_at", member_engagement.c.drops_at)
Index(
    "ix_member_engagement_level",
    member_engagement.c.level,
    text('(member_id COLLATE "C")'),
)
"""Member search by engagement level, in member-id byte order."""

engagement_history = Table(
    "engagement_history",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("from_level", Text),
    Column("to_level", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("score", Numeric(6, 2), nullable=False),
    Column("event_id", Text),
    PrimaryKeyConstraint("member_id", "seq"),
)
"""Every engagement level move, with the score then and the event that made it (null: the
worker noticed it by time alone); append-only."""

experiment_exposures = Table(
    "experiment_exposures",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("rule_id", Text, nullable=False),
    Column("experiment_id", Text, nullable=False),
    Column("arm", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("points", Integer, nullable=False),
    Column("given", Boolean, nullable=False),
    PrimaryKeyConstraint("member_id", "event_id", "rule_id"),
)
"""Every firing of an experiment's rule for a member: the arm, and the points given (withheld in
the holdout); append-only. A member's first exposure is their entry into the experiment."""

Index(
    "ix_experiment_exposures_experiment",
    experiment_exposures.c.experiment_id,
    experiment_exposures.c.member_id,
    experiment_exposures.c.at,
)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Text, primary_key=True),
    Column("split", JSONB, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("version", Text, nullable=False),
)
"""Each experiment as first published: its split (arm -> basis points), fixed from then on."""

tier_metric_days = Table(
    "tier_metric_days",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("value", Numeric(), nullable=False, server_default="0"),
    PrimaryKeyConstraint("member_id", "metric", "day"),
)
"""Qualifying metrics per member and local day of the program (`points_earned`, `spend`,
`count:<event type>`), summed over a tier window; a late event adds to the day it happened."""

member_badge_levels = Table(
    "member_badge_levels",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("badge_id", Text, nullable=False),
    Column("level", Integer, nullable=False),
    Column("level_name", Text, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("event_id", Text),
    PrimaryKeyConstraint("member_id", "badge_id", "level"),
)
"""Each level of a levelled badge a member reached, once, with its date."""

streak_units = Table(
    "streak_units",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("streak_id", Text, nullable=False),
    Column("unit", Date, nullable=False),
    PrimaryKeyConstraint("member_id", "streak_id", "unit"),
)
"""Days (or week Mondays), in the member's time zone, with a qualifying event per streak."""

member_streaks = Table(
    "member_streaks",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("streak_id", Text, nullable=False),
    Column("longest", Integer, nullable=False, server_default="0"),
    Column("run_start", Date),
    Column("rewarded", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("member_id", "streak_id"),
)
"""Per streak: the longest run, the current run's first unit and its highest rewarded milestone."""

referral_codes = Table(
    "referral_codes",
    metadata,
    Column("code", Text, primary_key=True),
    Column("member_id", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""A small global lookup: referral code -> member (one code per member)."""

referrals = Table(
    "referrals",
    metadata,
    Column("member_id", Text, primary_key=True),
    Column("referrer_id", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("link_event_id", Text, nullable=False),
    Column("order_id", Text),
    Column("rewarded_at", DateTime(timezone=True)),
    Column("referee_points", BigInteger, nullable=False, server_default="0"),
    Column("referrer_points", BigInteger, nullable=False, server_default="0"),
    Column("referrer_reversed", BigInteger, nullable=False, server_default="0"),
)
"""A referee (member_id) and the member who referred them; the rewards and their reversal."""

Index("ix_referrals_referrer_id", referrals.c.referrer_id)


webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint_id", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("kinds", ARRAY(Text), nullable=False),
    Column("expiring_days", Integer, nullable=False, server_default="7"),
    Column("at_risk_hours", Integer, nullable=False, server_default="4"),
    Column("status", Text, nullable=False, server_default="active"),
    Column("disabled_reason", Text),
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text),
    Column("previous_secret_until", DateTime(timezone=True)),
    Column("failing_since", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("retry_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('active', 'paused', 'disabled')", name="status"),
)
"""Where webhooks go: a URL, the kinds it wants, its signing secret (and the previous one during
a rotation's overlap), and whether it is active, paused or disabled (with the reason why).
`retry_at`: while it answers nothing, the earliest retry its last pass set (passes leave it
alone until then)."""

webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("seq", BigInteger, Identity(always=False), nullable=False, unique=True),
    Column("member_id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("endpoint_id", Text),
    Column("payload", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
"""The outbox: one row per thing that happened, written in the transaction that made it happen
(`endpoint_id` null), or by the worker for one endpoint's time-driven kinds. `seq` orders a
member's messages as their transactions committed (the member's row lock serialises them)."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("endpoint_id", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("member_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retry_from", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("endpoint_id", "message_id"),
    CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
)
"""One message to one endpoint: pending (retried with backoff until `retry_from` plus the retry
period), delivered, or dead (a dead letter, until redelivered)."""

Index(
    "ix_webhook_deliveries_lane",
    text("(endpoint_id || ' ' || member_id)"),
    webhook_deliveries.c.seq,
    postgresql_where=text("status = 'pending'"),
)
Index(
    "ix_webhook_deliveries_pending",
    webhook_deliveries.c.endpoint_id,
    webhook_deliveries.c.seq,
    postgresql_where=text("status = 'pending'"),
)
Index("ix_webhook_deliveries_listing", webhook_deliveries.c.endpoint_id, webhook_deliveries.c.seq)
Index(
    "ix_webhook_deliveries_dead",
    webhook_deliveries.c.seq,
    postgresql_where=text("status = 'dead'"),
)

# -- program rollups: the daily figures the reports read (service.decide.rollups) -------------

program_rollups = Table(
    "program_rollups",
    metadata,
    Column("metric", Text, nullable=False),
    Column("day", Date, nullable=False),
    Column("key", Text, nullable=False),
    Column("shard", SmallInteger, nullable=False),
    Column("value", Numeric(20, 4), nullable=False),
    PrimaryKeyConstraint("metric", "day", "key", "shard"),
)
"""Amounts added per figure (`metric`, e.g. points earned, with `key` the rule), local day of
the program's time zone and shard, as decisions are saved: a figure is the sum over shards.
Balances and members per tier or level are kept as the day's change (a running sum reads them)."""

Index("ix_program_rollups_unfolded", program_rollups.c.day, postgresql_where=text("shard <> 0"))
"""The rows the worker folds into shard 0 once their day is past (`fold_shards`)."""

member_active_days = Table(
    "member_active_days",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("day", Date, nullable=False),
    PrimaryKeyConstraint("member_id", "day"),
)
"""The local days on which each member had an accepted event: a new row is a member active for
the first time that day (and, with no other row in its week or month, that week or month)."""

member_cohorts = Table(
    "member_cohorts",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("week", Date, nullable=False),
    PrimaryKeyConstraint("member_id"),
)
"""Each member's signup cohort: the week (Monday) of the first local day they were seen active,
fixed when first seen (retention is counted against it)."""
