"""Test harness: one real PostgreSQL per run, a fresh database per test, the real app over HTTP.

The server is the embedded one (the same code `loyalty serve` uses, in a temporary folder, with
fsync off for speed) unless TEST_DATABASE_URL names an existing server. Each test gets its own
database cloned from a template migrated once per run, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime

import asyncpg
import pytest
from helpers import app_settings
from litestar.testing import AsyncTestClient

from service.active_ruleset import ActiveRuleset
from service.app import create_app
from service.auth import generate_key
from service.core.clock import FixedClock
from service.http.servers import uvicorn_options
from service.runtime import Runtime
from service.settings import Settings
from service.store import keys as key_store
from service.store.database import Database
from service.store.embedded import EmbeddedPostgres, scratch_folder
from service.store.migrate import migrate

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Where every test's clock starts: a Monday morning in March."""


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def embedded_pg() -> Iterator[tuple[EmbeddedPostgres, str] | None]:
    """The embedded test server and its maintenance URL; None under TEST_DATABASE_URL."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    server = EmbeddedPostgres(scratch_folder("loyalty-test-pg-"), durable=False)
    url = server.acquire("postgres")
    try:
        yield server, url
    finally:
        server.release()


@pytest.fixture(scope="session")
def pg_admin_url(embedded_pg: tuple[EmbeddedPostgres, str] | None) -> str:
    """A URL to a maintenance database on the test server."""
    return embedded_pg[1] if embedded_pg else os.environ["TEST_DATABASE_URL"]


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> str:
    """The name of a database migrated to the latest schema, cloned by every test."""
    name = f"loyalty_template_{os.getpid()}"
    import asyncio

    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    migrate(_with_database(pg_admin_url, name))
    return name


@pytest.fixture
async def database_url(
    pg_admin_url: str, template_db: str, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A fresh database for one test, cloned from the migrated template."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}" STRATEGY FILE_COPY')
    finally:
        await conn.close()
    url = _with_database(pg_admin_url, name)
    yield url
    await _assert_ledger_verifies(url, replay=request.node.get_closest_marker("no_replay") is None)
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _assert_ledger_verifies(url: str, *, replay: bool = True) -> None:
    """After every test: `loyalty ledger verify` finds every balance equal to its entries;
    unless the test wrote the store by raw SQL, `ledger replay --check` finds the history
    books what is stored and `reports verify` finds the rollups equal to the ledger's figures."""
    from helpers import ledger_problems, replay_problems, rollup_problems

    database = Database(url, min_size=0, max_size=2)
    await database.open()
    try:
        if os.environ.get("LOYALTY_SKIP_VERIFY") != "1":
            problems = await ledger_problems(database)
            assert not problems, f"ledger verify failed after the test: {problems}"
        if replay and os.environ.get("LOYALTY_SKIP_REPLAY") != "1":
            problems = await replay_problems(database)
            assert not problems, "ledger replay --check failed after the test:\n" + "\n".join(
                problems[:20]
            )
            problems = await rollup_problems(database)
            assert not problems, "reports verify failed after the test:\n" + "\n".join(
                problems[:20]
            )
    finally:
        await database.close()


@pytest.fixture
def clock() -> FixedClock:
    """The clock the app under test reads; tests move it."""
    return FixedClock(START)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Settings a module's tests run with instead of the shared ones (`helpers.app_settings`):
    a module that needs others overrides this fixture."""
    return {}


@pytest.fixture
def settings(database_url: str, settings_overrides: dict[str, object]) -> Settings:
    """Settings for the app under test: the shared ones with this module's overrides."""
    return app_settings(database_url, **settings_overrides)


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """An HTTP client driving the real app (lifespan included) on this test's database."""
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """Direct access to this test's database, for arranging and inspecting rows."""
    database = Database(database_url, min_size=0, max_size=4)
    await database.open()
    yield database
    await database.close()


MakeKey = Callable[..., Awaitable[str]]


@pytest.fixture
def make_key(db: Database) -> MakeKey:
    """Create an API key with the given scopes; returns its bearer token."""

    async def make(*scopes: str, name: str | None = None) -> str:
        issued = generate_key(name or f"key-{uuid.uuid4().hex[:8]}", list(scopes))
        async with db.transaction() as conn:
            await key_store.insert_key(
                conn,
                key_id=issued.key_id,
                name=issued.name,
                secret_hash=issued.secret_hash,
                scopes=issued.scopes,
            )
        return issued.token

    return make


@pytest.fixture
async def runtime(client, settings: Settings, clock: FixedClock) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    """What the use cases run on, on this test's database, for calling them directly (the
    worker, the webhook passes); the app under test runs on the test client's own event
    loop."""
    database = Database(settings.database_url or "", min_size=0, max_size=4)
    await database.open()
    rules = ActiveRuleset(database)
    await rules.refresh()
    yield Runtime(db=database, clock=clock, rules=rules)
    await database.close()


@pytest.fixture
async def live_app(settings: Settings, clock: FixedClock):  # type: ignore[no-untyped-def]
    """Start the real app under uvicorn in this process (so requests really run at once,
    unlike the test client, which hands them to the app one by one), configured as `loyalty
    serve` configures it; yields a function that takes setting overrides and returns an httpx
    client bound to the server (its `base_url` names the port, for raw sockets)."""
    import httpx
    import msgspec
    import uvicorn

    servers: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def start(**overrides: object) -> httpx.AsyncClient:
        configured = msgspec.structs.replace(settings, **overrides)
        app = create_app(configured, clock=clock)
        # the options `loyalty serve` runs uvicorn with (its limits on request heads, idle
        # and concurrent connections), on a free port in this process
        options = {**uvicorn_options(configured), "host": "127.0.0.1", "port": 0, "workers": 1}
        config = uvicorn.Config(app, lifespan="on", log_level="error", **options)
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60)
        servers.append((server, task, client))
        return client

    yield start
    for server, task, client in servers:
        await client.aclose()
        server.should_exit = True
        await task
