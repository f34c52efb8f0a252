"""Redemption references and admin adjustments.

`redemptions.reference` keeps the caller's reference (a checkout's order id); `adjustments`
records each admin correction with its actor and reason, and the answer replayed for a repeated
Idempotency-Key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("redemptions", sa.Column("reference", sa.Text(), nullable=True))
    op.create_table(
        "adjustments",
        sa.Column("member_id", sa.Text(), nullable=False),
        sa.Column("adjustment_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "adjustment_id", name=op.f("pk_adjustments")),
        sa.UniqueConstraint(
            "member_id", "idempotency_key", name=op.f("uq_adjustments_member_id_idempotency_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("adjustments")
    op.drop_column("redemptions", "reference")
