"""Engagement levels and experiments: each member's level as last decided (with the day it
for the worker) and the history of level moves. The score itself needs no table: it is computed
from the daily metrics the pipeline already keeps (`tier_metric_days`). Experiments: every
exposure of a member to an experiment's rule (arm, points given or withheld), and each
experiment's split as first published (it may not change after).

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-03 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
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
    # member search by level, in member-id byte order
    op.execute(
        "CREATE INDEX ix_member_engagement_level ON member_engagement "
        '(level, (member_id COLLATE "C"))'
    )
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

    op.create_table(
        "experiment_exposures",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("experiment_id", sa.Text(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("given", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "member_id", "event_id", "rule_id", name=op.f("pk_experiment_exposures")
        ),
    )
    op.create_index(
        "ix_experiment_exposures_experiment",
        "experiment_exposures",
        ["experiment_id", "member_id", "at"],
    )
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Text(), nullable=False),
        sa.Column("split", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", name=op.f("pk_experiments")),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("experiments")
    op.drop_table("experiment_exposures")
    op.drop_table("engagement_history")
    op.drop_table("member_engagement")
