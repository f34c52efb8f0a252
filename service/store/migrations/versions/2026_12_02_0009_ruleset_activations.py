"""Rule versions kept readable: every activation of a ruleset is kept (when, by whom), and a
ruleset's number of rules is kept with it, so that listing versions loads none of them.

The history begins with the version active now, at its activation time; who activated it was
not recorded, so `activated_by` is null there. Rule counts of versions stored before this are
left null (counting needs the rule loader, which a migration must not import); listing fills
them in.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("rulesets", sa.Column("rule_count", sa.Integer(), nullable=True))
    op.create_table(
        "ruleset_activations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column(
            "activated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("activated_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version"],
            ["rulesets.version"],
            name=op.f("fk_ruleset_activations_version_rulesets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_activations")),
    )
    op.create_index("ix_ruleset_activations_version", "ruleset_activations", ["version"])
    op.execute(
        """
        INSERT INTO ruleset_activations (version, activated_at, activated_by)
        SELECT a.version, a.activated_at, NULL
          FROM active_ruleset a JOIN rulesets r ON r.version = a.version
        """
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("ruleset_activations")
    op.drop_column("rulesets", "rule_count")
