"""Webhook retention: an index of dead letters, so that the worker can find the messages whose
every delivery is done (delivered) and remove them after LOYALTY_WEBHOOK_KEEP_DAYS, and the
metrics can count dead letters without reading every delivery ever made. Dead letters are rare:
the index costs an event nothing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_index(
        "ix_webhook_deliveries_dead",
        "webhook_deliveries",
        ["seq"],
        postgresql_where=sa.text("status = 'dead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_dead", table_name="webhook_deliveries")
