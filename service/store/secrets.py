"""SQL for generated service secrets, shared by every replica through the database."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert

from service.store.database import Connection
from service.store.sql import compile_query
from service.store.tables import service_secrets

__all__ = ["get_or_create_secret"]

_INSERT = compile_query(
    insert(service_secrets)
    .values(name=bindparam("name"), value=bindparam("value"))
    .on_conflict_do_nothing(index_elements=[service_secrets.c.name])
)
_SELECT = compile_query(
    select(service_secrets.c.value).where(service_secrets.c.name == bindparam("name"))
)


async def get_or_create_secret(conn: Connection, name: str, candidate: str) -> str:
    """The stored secret `name`; `candidate` is stored first if there is none yet."""
    await conn.execute(_INSERT, {"name": name, "value": candidate})
    value = await conn.fetchval(_SELECT, {"name": name})
    assert isinstance(value, str)
    return value
