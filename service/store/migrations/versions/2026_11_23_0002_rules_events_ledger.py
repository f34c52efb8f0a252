"""Rules, events, the points ledger, rewards and redemptions.

ledger_entries is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:22:45.155046
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    _active_ruleset()
    _balances()
    _challenge_progress()
    _coupon_codes()
    _events()
    _ledger_entries()
    _lots()
    _member_badges()
    _member_counters()
    _orders()
    _redemptions()
    _reward_stock()
    _rule_budgets()
    _rule_usage()
    _rulesets()
    _indexes()
    _ledger_entries_append_only()


def _active_ruleset() -> None:
    op.create_table(
        "active_ruleset",
        sa.Column("singleton", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column(
            "activated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("singleton", name=op.f("ck_active_ruleset_one_row")),
        sa.PrimaryKeyConstraint("singleton", name=op.f("pk_active_ruleset")),
    )


def _balances() -> None:
    op.create_table(
        "balances",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("available", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("pending", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("held", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("debt", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lifetime_earned", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lifetime_spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("entries", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("next_maturity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_balances")),
    )


def _challenge_progress() -> None:
    op.create_table(
        "challenge_progress",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("challenge_id", sa.Text(), nullable=False),
        sa.Column("window_key", sa.Text(), nullable=False),
        sa.Column("progress", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "member_id", "challenge_id", "window_key", name=op.f("pk_challenge_progress")
        ),
    )


def _coupon_codes() -> None:
    op.create_table(
        "coupon_codes",
        sa.Column("reward_id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Text(), nullable=True),
        sa.Column("redemption_id", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("reward_id", "code", name=op.f("pk_coupon_codes")),
    )


def _events() -> None:
    op.create_table(
        "events",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body_hash", sa.Text(), nullable=False),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ruleset_version", sa.Text(), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "event_id", name=op.f("pk_events")),
    )


def _ledger_entries() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("entry_no", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("balance", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.Text(), nullable=True),
        sa.Column("ruleset_version", sa.Text(), nullable=True),
        sa.Column("redemption_id", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "entry_no", name=op.f("pk_ledger_entries")),
    )


def _lots() -> None:
    op.create_table(
        "lots",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("lot_id", sa.Text(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activates_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.Text(), nullable=True),
        sa.Column("ruleset_version", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= points", name=op.f("ck_lots_remaining_in_range")
        ),
        sa.PrimaryKeyConstraint("member_id", "lot_id", name=op.f("pk_lots")),
    )


def _member_badges() -> None:
    op.create_table(
        "member_badges",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("badge_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), server_default="1", nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("rule_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "badge_id", name=op.f("pk_member_badges")),
    )


def _member_counters() -> None:
    op.create_table(
        "member_counters",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "event_type", name=op.f("pk_member_counters")),
    )


def _orders() -> None:
    op.create_table(
        "orders",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=False),
        sa.Column("purchase_event_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column(
            "refunded_amount", sa.Numeric(precision=18, scale=4), server_default="0", nullable=False
        ),
        sa.Column("points_reversed", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("member_id", "order_id", name=op.f("pk_orders")),
    )


def _redemptions() -> None:
    op.create_table(
        "redemptions",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("redemption_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("reward_id", sa.Text(), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("coupon_code", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "draws", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.PrimaryKeyConstraint("member_id", "redemption_id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint(
            "member_id", "idempotency_key", name=op.f("uq_redemptions_member_id_idempotency_key")
        ),
    )


def _reward_stock() -> None:
    op.create_table(
        "reward_stock",
        sa.Column("reward_id", sa.Text(), nullable=False),
        sa.Column("issued", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("reward_id", name=op.f("pk_reward_stock")),
    )


def _rule_budgets() -> None:
    op.create_table(
        "rule_budgets",
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_rule_budgets")),
    )


def _rule_usage() -> None:
    op.create_table(
        "rule_usage",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("period_key", sa.Text(), nullable=False),
        sa.Column("times", sa.Integer(), server_default="0", nullable=False),
        sa.Column("points", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("member_id", "rule_id", "period_key", name=op.f("pk_rule_usage")),
    )


def _rulesets() -> None:
    op.create_table(
        "rulesets",
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("files", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_rulesets")),
    )


def _indexes() -> None:
    """Create the indexes."""
    op.create_index("ix_balances_next_maturity_at", "balances", ["next_maturity_at"])
    op.create_index(
        "ix_redemptions_hold_expires_at",
        "redemptions",
        ["hold_expires_at"],
        postgresql_where=sa.text("status = 'held'"),
    )


def _ledger_entries_append_only() -> None:
    """Create the trigger that keeps ledger_entries append-only."""
    op.execute(
        """
        CREATE FUNCTION ledger_entries_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
    op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    op.drop_index("ix_redemptions_hold_expires_at", table_name="redemptions")
    op.drop_index("ix_balances_next_maturity_at", table_name="balances")
    op.drop_table("rulesets")
    op.drop_table("rule_usage")
    op.drop_table("rule_budgets")
    op.drop_table("reward_stock")
    op.drop_table("redemptions")
    op.drop_table("orders")
    op.drop_table("member_counters")
    op.drop_table("member_badges")
    op.drop_table("lots")
    op.drop_table("ledger_entries")
    op.drop_table("events")
    op.drop_table("coupon_codes")
    op.drop_table("challenge_progress")
    op.drop_table("balances")
    op.drop_table("active_ruleset")
