"""SQLAlchemy Core statements compiled once to asyncpg SQL, run as prepared statements.

Queries are written with Core (one definition of tables and queries); at import time each is
compiled to PostgreSQL text with `$n` parameters, and at run time executed straight through
asyncpg, whose per-connection statement cache prepares it once. This skips SQLAlchemy's async
layer (150-200 us of CPU per statement, measured.md) on every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql import ClauseElement

__all__ = ["Query", "compile_query"]

_DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


class Query(msgspec.Struct, frozen=True):
    """Compiled SQL text plus the names of its parameters, in `$n` order."""

    sql: str
    names: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...] = ()

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """Positional arguments for asyncpg from named parameters."""
        if self.defaults:
            merged = dict(self.defaults)
            merged.update(params)
            params = merged
        try:
            return [params[name] for name in self.names]
        except KeyError as exc:  # a programming error, not bad input
            raise AssertionError(f"missing SQL parameter {exc} for: {self.sql}") from None


def compile_query(statement: ClauseElement) -> Query:
    """Compile a Core statement once for asyncpg."""
    compiled = statement.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    names = tuple(getattr(compiled, "positiontup", None) or ())
    defaults = tuple(
        (name, value)
        for name, value in compiled.params.items()
        if value is not None and name in names
    )
    return Query(sql=str(compiled), names=names, defaults=defaults)
