"""The schema, written once in SQLAlchemy Core; migrations and queries are built from it.

Every member-owned table leads its primary key with `member_id` so that the schema can be
distributed by member (Citus) without changes; rulesets and API keys are small reference tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

__all__ = ["api_keys", "members", "metadata", "service_secrets"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("secret_hash", Text, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
)

members = Table(
    "members",
    metadata,
    Column("member_id", Text, nullable=False),
    Column("display_name", Text),
    Column("timezone", Text),
    Column("birthday", Date),
    Column("hidden", Boolean, nullable=False, server_default="false"),
    Column("attributes", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("events_seen", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("member_id"),
    CheckConstraint("length(member_id) BETWEEN 1 AND 128", name="member_id_length"),
)

service_secrets = Table(
    "service_secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Secrets the service generates once and every replica shares (e.g. the default token key)."""
