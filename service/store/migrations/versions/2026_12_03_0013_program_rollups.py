"""Program rollups: the daily figures the reports and the dashboard read (points earned, spent,
expired per day, balances, points expiring per month, purchases, members per tier and
engagement level, exposures), kept as sharded amounts added by every save; and per member the
days they were active and their signup cohort (active members per day, week and month, and
retention). A database upgraded with history fills them once with `loyalty reports rebuild`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "program_rollups",
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("value", sa.Numeric(20, 4), nullable=False),
        sa.PrimaryKeyConstraint("metric", "day", "key", "shard", name=op.f("pk_program_rollups")),
    )
    op.create_table(
        "member_active_days",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "day", name=op.f("pk_member_active_days")),
    )
    op.create_table(
        "member_cohorts",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_cohorts")),
    )
    # the worker folds past days' shards into shard 0: find them without a scan
    op.execute("CREATE INDEX ix_program_rollups_unfolded ON program_rollups (day) WHERE shard <> 0")
    # the top-members report: the largest holders of available points, without a scan
    op.execute("CREATE INDEX ix_balances_top ON balances (available DESC, member_id)")


def downgrade() -> None:
    op.drop_index("ix_balances_top", table_name="balances")
    op.drop_table("member_cohorts")
    op.drop_table("member_active_days")
    op.drop_table("program_rollups")
