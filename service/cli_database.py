"""The database a `loyalty` command runs on: DATABASE_URL or the embedded server, migrated
first, opened for the command and closed after it; a refusal is told on the terminal."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from service.settings import Settings

if TYPE_CHECKING:
    from service.errors import DomainError
    from service.store.database import Database

__all__ = ["database_url", "on_database", "print_error"]


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The database every command uses: DATABASE_URL, else the embedded server (started if
    needed, and stopped afterwards only if no other process still uses it)."""
    if settings.database_url:
        yield settings.database_url
        return
    from service.store.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(settings.data_path, binaries=settings.pg_bin)
    url = embedded.acquire()
    try:
        yield url
    finally:
        embedded.release()


def print_error(exc: DomainError) -> None:
    """A refusal as one line on stderr, naming the field it is about."""
    where = f"{exc.field}: " if exc.field else ""
    print(f"error: {where}{exc.detail}", file=sys.stderr)


def on_database(settings: Settings, work: Callable[[Database], Awaitable[int]]) -> int:
    """Run `work` on the service's database (migrated first), as `rules publish` does; a
    refusal is one line on stderr and exit 1."""
    from service.errors import DomainError, RulesetRefused
    from service.store.database import Database
    from service.store.migrate import migrate

    async def run(url: str) -> int:
        db = Database(url, min_size=0, max_size=2, timeout=settings.db_timeout_seconds)
        await db.open()
        try:
            return await work(db)
        except RulesetRefused as exc:
            for problem in exc.problems:
                print(problem)
            print(f"{len(exc.problems)} problem(s) found; the active ruleset is unchanged")
            return 1
        except DomainError as exc:
            print_error(exc)
            return 1
        finally:
            await db.close()

    with database_url(settings) as url:
        migrate(url)
        return asyncio.run(run(url))
