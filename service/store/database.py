"""The connection pool and the one way the service talks to PostgreSQL.

All access goes through `Database.connection()` / `Database.transaction()`, which turn a lost
or overloaded database into `DatabaseUnavailable` (answered as 503), never a hang past the
configured timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import asyncpg
import msgspec

from service.errors import InvalidInput
from service.store.sql import Query

__all__ = ["Connection", "Database", "DatabaseUnavailable"]

_json_encoder = msgspec.json.Encoder()
_json_decode = msgspec.json.Decoder().decode


def _json_encode(value: Any) -> str:
    return _json_encoder.encode(value).decode()


_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.QueryCanceledError,
)


_UNSTORABLE_TEXT = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


class DatabaseUnavailable(Exception):
    """The database cannot be reached in time; the request may be retried."""


class Connection:
    """One checked-out connection; runs compiled queries with named parameters."""

    __slots__ = ("raw",)

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def fetch(self, query: Query, params: Mapping[str, Any] | None = None) -> list[Any]:
        """All rows of a query."""
        return list(await self.raw.fetch(query.sql, *query.args(params or {})))

    async def fetchrow(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        """The first row of a query, or None."""
        return await self.raw.fetchrow(query.sql, *query.args(params or {}))

    async def fetchval(self, query: Query, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        return await self.raw.fetchval(query.sql, *query.args(params or {}))

    async def execute(self, query: Query, params: Mapping[str, Any] | None = None) -> str:
        """Run a statement; return its status tag (e.g. 'UPDATE 1')."""
        return str(await self.raw.execute(query.sql, *query.args(params or {})))

    async def executemany(self, query: Query, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per parameter set, in one round trip per batch."""
        await self.raw.executemany(query.sql, [query.args(row) for row in rows])


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release: asyncpg still rolls back an open transaction, but skips its reset query
    (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL), a round trip per request. The service
    leaves no session state: its advisory locks are transaction-scoped, it sets nothing with
    SET, opens no cursors, and listens on a connection of its own (`rules_runtime`)."""


_PLAN_EACH_CALL = "SET LOCAL plan_cache_mode = force_custom_plan"


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Every statement the service sends is prepared once per connection; PostgreSQL would still
    # plan most of them again on every call (a custom plan per parameter set), and planning the
    # wide state reads costs more than running them: 0.83 ms against 0.33 ms per call for the
    # event path's state read, 0.42 against 0.20 ms for GET /v1/me (measured: docs/benchmarks.md).
    # All of the service's statements look rows up by key through indexes, which a generic plan does
    # as well as a custom one. A generic plan is made once, though, with the table sizes of that
    # moment: made while `events` or `orders` were still nearly empty (a new deployment), it
    # would keep sequential scans of them as they grow (seen: the event path's state read went
    # from 0.4 to 5.8 ms within a minute of a fresh start). Every statement the service runs
    # finds its rows through an index, so sequential scans are priced out for its sessions (and
    # JIT compilation is off: priced-out plans would cross its cost threshold, and no query of
    # an OLTP service gains from it). A transaction over tables whose size swings by orders of
    # magnitude within minutes (the webhook queue) asks for plans made on every call instead:
    # `Database.transaction(plan_each_call=True)`.
    await conn.execute(
        "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off; SET jit = off"
    )
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, schema="pg_catalog", encoder=_json_encode, decoder=_json_decode, format="text"
        )


def _asyncpg_dsn(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


class Database:
    """A pool of asyncpg connections sized by settings."""

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 20, timeout: float = 5.0):
        self.url = _asyncpg_dsn(url)
        self.min_size = min_size
        self.max_size = max_size
        self.timeout = timeout
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        """Create the pool; connections are made lazily when the database is down."""
        self._pool = asyncpg.create_pool(
            self.url,
            min_size=0,
            max_size=self.max_size,
            init=_init_connection,
            reset=_keep_session,
            command_timeout=self.timeout,
            timeout=self.timeout,
            max_inactive_connection_lifetime=300,
        )
        await self._pool
        if self.min_size:  # warm the pool; a database that is down now is reconnected later
            with contextlib.suppress(DatabaseUnavailable, *_UNAVAILABLE):
                async with contextlib.AsyncExitStack() as stack:
                    for _ in range(self.min_size):
                        await stack.enter_async_context(self.connection())

    async def close(self) -> None:
        """Close every connection (waits briefly for checked-out ones)."""
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), timeout=self.timeout)
            except (TimeoutError, *_UNAVAILABLE):
                self._pool.terminate()
            self._pool = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "Database.open() was not awaited"
        return self._pool

    def pool_stats(self) -> tuple[int, int, int]:
        """(open connections, idle connections, max size) for the metrics gauges."""
        if self._pool is None:
            return (0, 0, self.max_size)
        return (self._pool.get_size(), self._pool.get_idle_size(), self.max_size)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A pooled connection, outside any transaction."""
        try:
            async with self.pool.acquire(timeout=self.timeout) as raw:
                yield Connection(raw)
        except _UNAVAILABLE as exc:
            raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
        except _UNSTORABLE_TEXT:
            # PostgreSQL keeps no NUL character in text or JSON; the transaction rolled back
            raise InvalidInput(
                "text fields may not contain the NUL character (\\u0000)",
                field="body",
                code="nul_character",
            ) from None

    @contextlib.asynccontextmanager
    async def transaction(self, *, plan_each_call: bool = False) -> AsyncIterator[Connection]:
        """A pooled connection inside one transaction, committed on success. With
        `plan_each_call`, its statements are planned on every call with the tables' sizes of
        that moment, not by the session's generic plans (`_init_connection`): for a queue,
        which a plan made while it was empty reads badly once it has filled (seen: 300 ms
        and 128,000 buffers per webhook pass at 1,000 pending; planning costs a fraction of
        a millisecond per statement)."""
        async with self.connection() as conn:
            try:
                async with conn.raw.transaction():
                    if plan_each_call:
                        await conn.raw.execute(_PLAN_EACH_CALL)
                    yield conn
            except _UNAVAILABLE as exc:
                raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc

    async def ping(self) -> bool:
        """True when the database answers a trivial query within the timeout."""
        try:
            async with self.connection() as conn:
                await asyncio.wait_for(conn.raw.fetchval("SELECT 1"), timeout=self.timeout)
        except (DatabaseUnavailable, *_UNAVAILABLE):
            return False
        return True
