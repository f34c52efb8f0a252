"""`loyalty rules backtest DIR`: what a draft ruleset would have booked over a past period,
side by side with what the rules in force booked, from the program's own stored history.

Members are taken a page at a time (whole referral groups, `operations/replay.py`). For each
page, the operations decided before the period are replayed with the versions that booked
them, which gives every member's state as the period starts; from there two copies go on
through the period's operations, in the order they were decided live: one with the booked
versions, one with the draft (`backtest_pages.py`). The same pure decision as the intake
decides both, in memory; nothing is written to the program's tables. Memory holds one page at a
time, or one per process with `jobs` (`backtest_pool.py`: the same report, sooner).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal

import msgspec

from service.engine import Ruleset, RulesetInvalid
from service.operations.backtest_pages import (
    Affected,
    AffectedEvent,
    PageRun,
    RunPart,
    decide_page,
)
from service.operations.backtest_pool import PoolSetup, decide_pages
from service.operations.replay import PAGE_MEMBERS, PageMembers, Rulesets, paged_members
from service.replay.report import LaneReport
from service.store import history
from service.store import rulesets as ruleset_store
from service.store.database import Database

__all__ = ["Affected", "AffectedEvent", "BacktestReport", "backtest", "backtest_at"]

NOTES = [
    "operations are decided in the order they were decided live, each at the moment it was",
    "a rule's global budget is drawn in member order, page by page (exact while it lasts)",
    "profiles (time zone, birthday, attributes) are as stored now; they keep no history",
]


class BacktestReport(msgspec.Struct, kw_only=True):
    since: datetime
    until: datetime
    draft_version: str
    currency: str
    point_value: float | None
    members: int
    events: int
    booked: LaneReport
    draft: LaneReport
    points_difference: int
    cost_difference: str | None
    most_affected: list[Affected]
    seconds: float
    events_per_second: float
    jobs: int = 1
    """The processes that decided the pages (one when a global budget is in play)."""
    notes: list[str] = msgspec.field(default_factory=lambda: list(NOTES))


Progress = Callable[[int, int], None]
"""Called with (period events done, period events in all) as pages finish."""


async def backtest_at(
    url: str,
    draft: Ruleset,
    *,
    since: datetime,
    until: datetime,
    members: int | None = None,
    on_progress: Progress | None = None,
    jobs: int = 1,
) -> BacktestReport:
    """`backtest` on a pool of its own to the database at `url` (the CLI's run, a job's thread),
    closed when it is done."""
    db = Database(url, min_size=0, max_size=2, timeout=60)
    await db.open()
    try:
        return await backtest(
            db,
            draft,
            since=since,
            until=until,
            members=members,
            on_progress=on_progress,
            jobs=jobs,
        )
    finally:
        await db.close()


async def backtest(
    db: Database,
    draft: Ruleset,
    *,
    since: datetime,
    until: datetime,
    members: int | None = None,
    top: int = 10,
    on_progress: Progress | None = None,
    jobs: int = 1,
    page_members: int = PAGE_MEMBERS,
) -> BacktestReport:
    """Backtest `draft` over the operations decided in [since, until), `page_members` members
    (and their referral groups) at a time; the pages decided in `jobs` processes
    (`backtest_pool.py`), or in this one when a budget is in play."""
    started = time.perf_counter()
    async with db.connection() as conn:
        files = await history.ruleset_files(conn)
        active = await ruleset_store.fetch_active_version(conn)
        _, total = await history.count_operations(conn, since, until)
    rulesets = Rulesets(files)
    fallback = active.version if active else None
    run = PageRun(rulesets, draft, since, until, fallback, top)

    def progress() -> None:
        if on_progress is not None:
            on_progress(run.events, total if members is None else max(run.events, 1))

    pages = _pages(db, page_members, members)
    async with db.connection() as conn:
        owners = await history.code_owners(conn)
    if jobs > 1 and _budgeted(draft, rulesets):
        jobs = 1
    if jobs > 1:
        setup = PoolSetup(
            url=db.url,
            files=files,
            draft_files=draft.files,
            since=since,
            until=until,
            fallback=fallback,
            top=top,
            code_owners=owners,
        )

        def absorb(part: RunPart) -> None:
            run.absorb(part)
            progress()

        await decide_pages(pages, setup, jobs, absorb)
    else:
        async for members_of_page in pages:
            await decide_page(db, run, members_of_page, owners)
            progress()
    return _report(run, time.perf_counter() - started, jobs)


def _budgeted(draft: Ruleset, rulesets: Rulesets) -> bool:
    """Whether the draft or a stored version has a rule with a global budget (drawn in member
    order, page after page: the pages cannot be decided apart). A stored version that does not
    load counts as one: the run stays in this process, where it fails as it always would if an
    operation of the period needs that version."""
    if any(rule.budget is not None for rule in draft.rules):
        return True
    try:
        return rulesets.budgeted(set())
    except RulesetInvalid:
        return True


async def _pages(
    db: Database, page_members: int, members: int | None
) -> AsyncIterator[PageMembers]:
    """Whom each page holds, up to the page that reaches `members` (None: every member)."""
    size = min(page_members, members) if members else page_members
    seen = 0
    async for page in paged_members(db, size=size):
        yield page
        seen += len(page.members)
        if members is not None and seen >= members:
            return


def _report(run: PageRun, seconds: float, jobs: int) -> BacktestReport:
    """The report of a run whose pages are all counted."""
    draft = run.draft
    value = draft.program.points.value
    booked = run.booked.finish(run.budgets_booked, value)
    drafted = run.drafted.finish(run.budgets_draft, value)
    cost = None
    if booked.cost is not None and drafted.cost is not None:
        cost = str(Decimal(drafted.cost) - Decimal(booked.cost))
    return BacktestReport(
        since=run.since,
        until=run.until,
        draft_version=draft.version,
        currency=draft.program.currency,
        point_value=value,
        members=run.members,
        events=run.events,
        booked=booked,
        draft=drafted,
        points_difference=drafted.points_net - booked.points_net,
        cost_difference=cost,
        most_affected=run.affected,
        seconds=round(seconds, 3),
        events_per_second=round(run.events / seconds, 1) if seconds else 0.0,
        jobs=jobs,
    )
