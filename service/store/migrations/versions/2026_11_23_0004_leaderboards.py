"""Leaderboards: member scores per board, period and segment, and a bucketed score histogram.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "board_scores",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("board_id", sa.Text(), nullable=False),
        sa.Column("period_key", sa.Text(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("score", sa.BigInteger(), nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "neg_score", sa.BigInteger(), sa.Computed("-score", persisted=True), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "member_id", "board_id", "period_key", "segment", name=op.f("pk_board_scores")
        ),
    )
    op.create_index(
        "ix_board_scores_order",
        "board_scores",
        ["board_id", "period_key", "segment", "neg_score", "reached_at", "member_id"],
    )
    op.create_table(
        "board_buckets",
        sa.Column("board_id", sa.Text(), nullable=False),
        sa.Column("period_key", sa.Text(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("members", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "board_id",
            "period_key",
            "segment",
            "level",
            "bucket",
            "shard",
            name=op.f("pk_board_buckets"),
        ),
    )


def downgrade() -> None:
    op.drop_table("board_buckets")
    op.drop_index("ix_board_scores_order", table_name="board_scores")
    op.drop_table("board_scores")
