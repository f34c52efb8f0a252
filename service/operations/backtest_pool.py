"""Deciding a backtest's pages in several processes (`loyalty rules backtest --jobs N`).

The pages of a period are independent once no global budget is in play (a budget is drawn in
member order across pages, so a draft or a stored version with one runs in one process). The
parent only lists whom each page holds (`paged_members`: ids and referral groups); each worker
process, with the stored rulesets and the draft compiled once and a database connection of its
own, reads its page's operations and stored rows, decides the page and sends back its counts
(a `RunPart`), which the parent absorbs in page order: the report is the one a single process
makes. At most two pages per worker are in flight, so memory stays bounded by the jobs.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import datetime

import msgspec

from service.engine import load_ruleset_from_files
from service.operations.backtest_pages import PageRun, RunPart, decide_page
from service.operations.replay import PageMembers, Rulesets
from service.store.database import Database

__all__ = ["PoolSetup", "decide_pages"]


class PoolSetup(msgspec.Struct, frozen=True, kw_only=True):
    """What every worker process starts from: the database, the stored rulesets' files, the
    draft's, the period, and every referral code's owner (which every page's store holds)."""

    url: str
    files: dict[str, dict[str, str]]
    draft_files: dict[str, str]
    since: datetime
    until: datetime
    fallback: str | None
    top: int
    code_owners: dict[str, str]


class _Worker:
    """A worker process's own: its loop, its database pool, the rulesets and the draft."""

    def __init__(self, setup: PoolSetup) -> None:
        self.setup = setup
        self.rulesets = Rulesets(setup.files)
        self.draft = load_ruleset_from_files(setup.draft_files, origin="the draft")
        self.loop = asyncio.new_event_loop()
        self.db = Database(setup.url, min_size=0, max_size=1, timeout=60)
        self.loop.run_until_complete(self.db.open())
        atexit.register(self.close)

    def close(self) -> None:
        self.loop.run_until_complete(self.db.close())
        self.loop.close()

    async def decide(self, members: PageMembers) -> RunPart:
        s = self.setup
        run = PageRun(self.rulesets, self.draft, s.since, s.until, s.fallback, s.top)
        await decide_page(self.db, run, members, s.code_owners)
        return run.part()


_worker: _Worker | None = None


def _start(setup: PoolSetup) -> None:
    global _worker  # the process's own, made once
    _worker = _Worker(setup)


def _decide(members: PageMembers) -> RunPart:
    """Read and decide one page in a worker process; its counts alone."""
    assert _worker is not None, "the worker was not started"
    return _worker.loop.run_until_complete(_worker.decide(members))


async def decide_pages(
    pages: AsyncIterator[PageMembers],
    setup: PoolSetup,
    jobs: int,
    absorb: Callable[[RunPart], None],
) -> None:
    """Decide `pages` in `jobs` worker processes, absorbing each page's part in page order."""
    context = multiprocessing.get_context("spawn")  # no copy of the parent's loop or sockets
    loop = asyncio.get_running_loop()
    pool: Executor = ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start, initargs=(setup,)
    )
    in_flight: deque[asyncio.Future[RunPart]] = deque()
    try:
        async for members in pages:
            in_flight.append(loop.run_in_executor(pool, _decide, members))
            while len(in_flight) >= 2 * jobs:
                absorb(await in_flight.popleft())
        while in_flight:
            absorb(await in_flight.popleft())
    finally:
        for future in in_flight:  # a failure: the pages still in flight are not counted
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
