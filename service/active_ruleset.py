"""The active ruleset of this process, switched atomically when any replica publishes.

Each event reads `ActiveRuleset.current` once, so it runs wholly under one version. A
LISTEN connection hears publications at once; a poll every few seconds covers a lost
connection, so every replica switches within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import asyncpg

from service.engine import Ruleset, load_ruleset, load_ruleset_from_files
from service.operations.experiment_splits import start_experiments
from service.store import rulesets as ruleset_store
from service.store.database import Database, DatabaseUnavailable

__all__ = ["ActiveRuleset", "NoActiveRuleset"]

logger = logging.getLogger("service.rules")


class NoActiveRuleset(RuntimeError):
    """No ruleset has been published and none could be loaded from the rules folder."""


def _load_folder(rules_dir: Path) -> Ruleset | None:
    return load_ruleset(rules_dir) if rules_dir.is_dir() else None


class ActiveRuleset:
    """Holds the ruleset events are evaluated with; follows the database's active version."""

    def __init__(self, db: Database, poll_seconds: float = 3.0) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._current: Ruleset | None = None
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._wake = asyncio.Event()

    @property
    def current(self) -> Ruleset:
        """The ruleset in force now."""
        if self._current is None:
            raise NoActiveRuleset("no ruleset is active: run `loyalty rules publish`")
        return self._current

    def use(self, ruleset: Ruleset) -> None:
        """Switch to `ruleset` (after it was stored and activated)."""
        self._current = ruleset

    async def start(self, rules_dir: Path | None) -> None:
        """Load the active version; with none active, publish the rules folder's files."""
        await self.refresh()
        ruleset = None
        if self._current is None and rules_dir is not None:
            ruleset = await asyncio.to_thread(_load_folder, rules_dir)
        if ruleset is not None:
            async with self._db.transaction() as conn:
                if await ruleset_store.fetch_active_version(conn) is None:
                    await ruleset_store.store_ruleset(
                        conn,
                        version=ruleset.version,
                        files=ruleset.files,
                        published_by="serve",
                        rule_count=len(ruleset.rules),
                    )
                    await start_experiments(conn, ruleset)
                    await ruleset_store.activate(conn, ruleset.version, activated_by="serve")
                    logger.info("published %s from %s", ruleset.short_version, rules_dir)
            await self.refresh()
        self._task = asyncio.create_task(self._follow(), name="ruleset-follower")

    async def stop(self) -> None:
        """Stop following publications."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_listener()

    async def refresh(self) -> None:
        """Load the database's active version if it differs from the one in force."""
        async with self._db.connection() as conn:
            row = await ruleset_store.fetch_active_version(conn)
            if row is None or (self._current and self._current.version == row.version):
                return
            full = await ruleset_store.fetch_active(conn)
        if full is None:
            return
        ruleset = load_ruleset_from_files(dict(full.files))
        if ruleset.version != full.version:
            logger.warning("stored ruleset %s hashes differently", full.version[:16])
        self._current = ruleset
        logger.info("ruleset %s is active", ruleset.short_version)

    async def _follow(self) -> None:
        while True:
            try:
                if self._listener is None or self._listener.is_closed():
                    await self._listen()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
                self._wake.clear()
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except (DatabaseUnavailable, OSError, asyncpg.PostgresError) as exc:
                logger.warning("ruleset follower: %s", exc)
                await self._close_listener()
                await asyncio.sleep(self._poll_seconds)
            except Exception:
                logger.exception("ruleset follower failed; keeping the ruleset in force")
                await asyncio.sleep(self._poll_seconds)

    async def _listen(self) -> None:
        self._listener = await asyncpg.connect(self._db.url, timeout=self._db.timeout)
        await self._listener.add_listener(ruleset_store.CHANNEL, self._notified)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close(timeout=1)
            self._listener = None
