"""Progress: tiers and their history, per-day qualifying metrics, badge levels, streaks,
referral codes and referrals; challenge progress gains the current step.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    _challenge_progress()
    _member_tiers()
    _tier_history()
    _tier_metric_days()
    _member_badge_levels()
    _streak_units()
    _member_streaks()
    _referral_codes()
    _referrals()


def _challenge_progress() -> None:
    op.add_column(
        "challenge_progress",
        sa.Column("step", sa.Integer(), server_default="0", nullable=False),
    )


def _member_tiers() -> None:
    op.create_table(
        "member_tiers",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=True),
        sa.Column("since", _TS, nullable=True),
        sa.Column("held_until", _TS, nullable=True),
        sa.Column("updated_at", _TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_tiers")),
    )
    op.create_index("ix_member_tiers_held_until", "member_tiers", ["held_until"])


def _tier_history() -> None:
    op.create_table(
        "tier_history",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_tier", sa.Text(), nullable=True),
        sa.Column("to_tier", sa.Text(), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "seq", name=op.f("pk_tier_history")),
    )


def _tier_metric_days() -> None:
    op.create_table(
        "tier_metric_days",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(18, 4), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("member_id", "metric", "day", name=op.f("pk_tier_metric_days")),
    )


def _member_badge_levels() -> None:
    op.create_table(
        "member_badge_levels",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("badge_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_name", sa.Text(), nullable=False),
        sa.Column("granted_at", _TS, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "member_id", "badge_id", "level", name=op.f("pk_member_badge_levels")
        ),
    )


def _streak_units() -> None:
    op.create_table(
        "streak_units",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("streak_id", sa.Text(), nullable=False),
        sa.Column("unit", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "streak_id", "unit", name=op.f("pk_streak_units")),
    )


def _member_streaks() -> None:
    op.create_table(
        "member_streaks",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("streak_id", sa.Text(), nullable=False),
        sa.Column("longest", sa.Integer(), server_default="0", nullable=False),
        sa.Column("run_start", sa.Date(), nullable=True),
        sa.Column("rewarded", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("member_id", "streak_id", name=op.f("pk_member_streaks")),
    )


def _referral_codes() -> None:
    op.create_table(
        "referral_codes",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_referral_codes")),
        sa.UniqueConstraint("member_id", name=op.f("uq_referral_codes_member_id")),
    )


def _referrals() -> None:
    op.create_table(
        "referrals",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("referrer_id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("linked_at", _TS, nullable=False),
        sa.Column("link_event_id", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("rewarded_at", _TS, nullable=True),
        sa.Column("referee_points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("referrer_points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("referrer_reversed", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_referrals")),
    )
    op.create_index("ix_referrals_referrer_id", "referrals", ["referrer_id"])


def downgrade() -> None:
    op.drop_index("ix_referrals_referrer_id", table_name="referrals")
    for table in (
        "referrals",
        "referral_codes",
        "member_streaks",
        "streak_units",
        "member_badge_levels",
        "tier_metric_days",
        "tier_history",
    ):
        op.drop_table(table)
    op.drop_index("ix_member_tiers_held_until", table_name="member_tiers")
    op.drop_table("member_tiers")
    op.drop_column("challenge_progress", "step")
