"""Tier metric days hold any sum: a day's points of a program that multiplies generously must
not overflow numeric(18, 4) (that overflow answered 500 to every later event of the member).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # dropping the type modifier is binary compatible: no table rewrite
    op.alter_column("tier_metric_days", "value", type_=sa.Numeric(), existing_nullable=False)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.alter_column("tier_metric_days", "value", type_=sa.Numeric(18, 4), existing_nullable=False)
