"""Webhooks at scale: passes read each active endpoint's own pending deliveries (an index per
endpoint in seq order, replacing the one across endpoints), so a paused endpoint's backlog
costs a pass nothing; a lane (endpoint, member) is indexed by one key, `endpoint_id || ' ' ||
member_id` (endpoint ids have no space), so that no other index can stand in for it when the
queue's statistics are stale; an endpoint answering nothing is left alone until `retry_at`, the
earliest retry its last pass set, so a receiver that is down does not make every pass read
its whole backlog; and an index of dead letters, so that the worker can find the messages
whose every delivery is delivered and remove them after LOYALTY_WEBHOOK_KEEP_DAYS, and the
metrics can count dead letters without reading every delivery ever made.

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

_PENDING = sa.text("status = 'pending'")
_LANE = (
    "CREATE INDEX ix_webhook_deliveries_lane ON webhook_deliveries "
    "((endpoint_id || ' ' || member_id), seq) WHERE status = 'pending'"
)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "webhook_endpoints", sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.drop_index("ix_webhook_deliveries_lane", table_name="webhook_deliveries")
    op.execute(_LANE)
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["endpoint_id", "seq"],
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_webhook_deliveries_dead",
        "webhook_deliveries",
        ["seq"],
        postgresql_where=sa.text("status = 'dead'"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_dead", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_lane", table_name="webhook_deliveries")
    op.execute(_LANE)
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_pending", "webhook_deliveries", ["seq"], postgresql_where=_PENDING
    )
    op.drop_index("ix_webhook_deliveries_lane", table_name="webhook_deliveries")
    op.create_index(
        "ix_webhook_deliveries_lane",
        "webhook_deliveries",
        ["endpoint_id", "member_id", "seq"],
        postgresql_where=_PENDING,
    )
    op.drop_column("webhook_endpoints", "retry_at")
