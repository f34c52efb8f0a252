"""Member search, keys over HTTP with an audit log, erasure.

Search indexes: member ids in byte order (`COLLATE "C"`: an id prefix is one index range and
the cursor order is the index order), display names lower-cased for prefix search, attributes
for containment (`@>`), tiers, and the last time a member was active per event type. API keys
gain who created them and when they were last used; `audit_log` keeps every admin action;
`erasures` the pseudonyms of erased members (never the id they replaced). The ledger stays
append-only, except that an erasure may replace the ids in it that name the member.

Revision ID: 0011
Revises: 0009 (to be re-pointed to 0010 when the webhooks branch is merged)
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP;
END $$
"""

_APPEND_ONLY_BUT_ERASURE = """
CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- An erasure (and only it, in its own transaction) may replace the ids that name the
    -- member; what moved, how much, when and why stays as booked.
    IF TG_OP = 'UPDATE' AND current_setting('loyalty.erasure', true) = 'on'
       AND (NEW.entry_no, NEW.kind, NEW.balance, NEW.points, NEW.at, NEW.recorded_at,
            NEW.event_id, NEW.rule_id, NEW.ruleset_version)
           IS NOT DISTINCT FROM
           (OLD.entry_no, OLD.kind, OLD.balance, OLD.points, OLD.at, OLD.recorded_at,
            OLD.event_id, OLD.rule_id, OLD.ruleset_version)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP;
END $$
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(_APPEND_ONLY_BUT_ERASURE)
    op.add_column("members", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.execute('CREATE INDEX ix_members_search_id ON members ((member_id COLLATE "C"))')
    op.execute(
        "CREATE INDEX ix_members_search_name ON members "
        '((lower(display_name)) text_pattern_ops, (member_id COLLATE "C"))'
    )
    op.execute(
        "CREATE INDEX ix_members_search_attributes ON members USING gin (attributes jsonb_path_ops)"
    )
    op.create_index("ix_member_tiers_tier", "member_tiers", ["tier", "member_id"])
    op.create_index("ix_member_counters_last_at", "member_counters", ["last_at"])
    op.add_column("api_keys", sa.Column("created_by", sa.Text(), nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "erasures",
        sa.Column("pseudonym", sa.Text(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("points_forfeited", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_erasures")),
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(_APPEND_ONLY)
    op.drop_table("erasures")
    op.drop_table("audit_log")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("api_keys", "created_by")
    op.drop_index("ix_member_counters_last_at", table_name="member_counters")
    op.drop_index("ix_member_tiers_tier", table_name="member_tiers")
    op.execute("DROP INDEX ix_members_search_attributes")
    op.execute("DROP INDEX ix_members_search_name")
    op.execute("DROP INDEX ix_members_search_id")
    op.drop_column("members", "erased_at")
