"""Rate limits: a shared fixed-window counter per credential (UNLOGGED: losing it on a crash
only forgets the current minute's counts).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 20:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_limit_counts (
            credential text NOT NULL,
            window_start timestamptz NOT NULL,
            hits bigint NOT NULL,
            CONSTRAINT pk_rate_limit_counts PRIMARY KEY (credential, window_start)
        )
        """
    )
    op.execute("CREATE INDEX ix_rate_limit_counts_window ON rate_limit_counts (window_start)")


def downgrade() -> None:
    op.execute("DROP TABLE rate_limit_counts")
