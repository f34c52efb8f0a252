"""The order in which operations were decided, and the ruleset each redemption and adjustment
ran under: what `loyalty ledger replay` needs to decide the stored history again exactly.

One sequence numbers every operation as its row is written (while its members are locked, so
the numbers follow the order in which conflicting operations were decided): events, redemptions
(and the settlement of a hold: commit, cancel or timeout) and adjustments. Rows written before
this revision are numbered in the order of their timestamps.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SEQ = "nextval('decision_seq')"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("CREATE SEQUENCE decision_seq AS bigint")
    for table in ("events", "redemptions", "adjustments"):
        op.add_column(table, sa.Column("seq", sa.BigInteger()))
    op.add_column("redemptions", sa.Column("settled_seq", sa.BigInteger()))
    op.add_column("redemptions", sa.Column("ruleset_version", sa.Text()))
    op.add_column("adjustments", sa.Column("ruleset_version", sa.Text()))
    # the rows already stored, numbered by their timestamps (ties in id order)
    op.execute(
        """
        CREATE TEMPORARY TABLE numbered ON COMMIT DROP AS
        WITH ops AS (
          SELECT 'e' AS kind, member_id, event_id AS id, received_at AS at FROM events
          UNION ALL SELECT 'r', member_id, redemption_id, created_at FROM redemptions
          UNION ALL SELECT 's', member_id, redemption_id, settled_at FROM redemptions
           WHERE hold_expires_at IS NOT NULL AND status <> 'held'
          UNION ALL SELECT 'a', member_id, adjustment_id, created_at FROM adjustments
        )
        SELECT kind, member_id, id, row_number() OVER (ORDER BY at, member_id, kind, id) AS n
          FROM ops
        """
    )
    for table, kind, key, column in (
        ("events", "e", "event_id", "seq"),
        ("redemptions", "r", "redemption_id", "seq"),
        ("redemptions", "s", "redemption_id", "settled_seq"),
        ("adjustments", "a", "adjustment_id", "seq"),
    ):
        op.execute(
            f"UPDATE {table} t SET {column} = x.n FROM numbered x WHERE x.kind = '{kind}' "  # noqa: S608
            f"AND t.member_id = x.member_id AND t.{key} = x.id"
        )
    op.execute("SELECT setval('decision_seq', (SELECT count(*) + 1 FROM numbered), false)")
    for table in ("events", "redemptions", "adjustments"):
        op.alter_column(table, "seq", server_default=sa.text(_SEQ), nullable=False)
        op.create_index(f"{table}_seq", table, ["seq"])


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in ("events", "redemptions", "adjustments"):
        op.drop_index(f"{table}_seq", table_name=table)
        op.drop_column(table, "seq")
    op.drop_column("redemptions", "settled_seq")
    op.drop_column("redemptions", "ruleset_version")
    op.drop_column("adjustments", "ruleset_version")
    op.execute("DROP SEQUENCE decision_seq")
