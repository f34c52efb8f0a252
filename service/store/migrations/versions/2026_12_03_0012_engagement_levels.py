"""Engagement levels: each member's level as last decided (with the day it falls by time alone,
for the worker) and the history of level moves. The score itself needs no table: it is computed
from the daily metrics the pipeline already keeps (`tier_metric_days`).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "member_engagement",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("drops_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_engagement")),
    )
    op.create_index("ix_member_engagement_drops_at", "member_engagement", ["drops_at"])
    op.create_table(
        "engagement_history",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_level", sa.Text(), nullable=True),
        sa.Column("to_level", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Numeric(6, 2), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "seq", name=op.f("pk_engagement_history")),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("engagement_history")
    op.drop_table("member_engagement")
