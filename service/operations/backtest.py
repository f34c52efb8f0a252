"""`loyalty rules backtest DIR`: what a draft ruleset would have booked over a past period,
side by side with what the rules in force booked, from the program's own stored history.

Members are taken a page at a time (whole referral groups, `operations/replay.py`). For each
page, the operations decided before the period are replayed with the versions that booked
them, which gives every member's state as the period starts; from there two copies go on
through the period's operations, in the order they were decided live: one with the booked
versions, one with the draft. The same pure decision as the intake decides both, in memory;
nothing is written to the program's tables. Memory holds one page at a time.
"""

from __future__ import annotations

import copy
import heapq
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from service.decide.rows import Rows
from service.engine import Ruleset
from service.operations.replay import Page, Rulesets, member_pages
from service.replay.booked import readable, rows_of, stored_side
from service.replay.compare import store_of
from service.replay.memory import MemoryStore
from service.replay.operations import EventOp, Operation, RedeemOp, SettleOp, apply, settle_clock
from service.replay.report import LaneReport, LaneTally
from service.store import history
from service.store import rulesets as ruleset_store
from service.store.database import Database
from service.store.history import StoredRows

__all__ = ["Affected", "AffectedEvent", "BacktestReport", "backtest", "backtest_at"]

NOTES = [
    "operations are decided in the order they were decided live, each at the moment it was",
    "a rule's global budget is drawn in member order, page by page (exact while it lasts)",
    "profiles (time zone, birthday, attributes) are as stored now; they keep no history",
]


class AffectedEvent(msgspec.Struct, kw_only=True):
    event_id: str
    type: str
    occurred_at: datetime
    booked: int | None
    draft: int | None
    """Net points of the event on each side (None: refused there)."""


class Affected(msgspec.Struct, kw_only=True):
    """A member whose points differ most between the two sides, with their events."""

    member_id: str
    booked: int
    draft: int
    difference: int
    events: list[AffectedEvent]


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
) -> BacktestReport:
    """`backtest` on a pool of its own to the database at `url` (the CLI's run, a job's thread),
    closed when it is done."""
    db = Database(url, min_size=0, max_size=2, timeout=60)
    await db.open()
    try:
        return await backtest(
            db, draft, since=since, until=until, members=members, on_progress=on_progress
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
) -> BacktestReport:
    """Backtest `draft` over the operations decided in [since, until)."""
    started = time.perf_counter()
    async with db.connection() as conn:
        rulesets = Rulesets(await history.ruleset_files(conn))
        active = await ruleset_store.fetch_active_version(conn)
        _, total = await history.count_operations(conn, since, until)
    fallback = active.version if active else None
    run = _Run(rulesets, draft, since, until, fallback, top)
    seen = 0
    page_members = min(500, members) if members else 500
    async for page in member_pages(db, until=until, page_members=page_members):
        stored = None
        if run.may_read(page):  # else the page is decided again whole: its rows are not read
            async with db.connection() as conn:
                stored = await history.stored_rows(conn, page.members)
        run.page(page, stored)
        seen += len(page.members)
        if on_progress is not None:
            on_progress(run.events, total if members is None else max(run.events, 1))
        if members is not None and seen >= members:
            break
    seconds = time.perf_counter() - started
    value = draft.program.points.value
    booked = run.booked.finish(run.budgets_booked, value)
    drafted = run.drafted.finish(run.budgets_draft, value)
    cost = None
    if booked.cost is not None and drafted.cost is not None:
        cost = str(Decimal(drafted.cost) - Decimal(booked.cost))
    return BacktestReport(
        since=since,
        until=until,
        draft_version=draft.version,
        currency=draft.program.currency,
        point_value=value,
        members=seen,
        events=run.events,
        booked=booked,
        draft=drafted,
        points_difference=drafted.points_net - booked.points_net,
        cost_difference=cost,
        most_affected=[a for _, _, a in sorted(run.affected, key=lambda x: (-x[0], x[1]))],
        seconds=round(seconds, 3),
        events_per_second=round(run.events / seconds, 1) if seconds else 0.0,
    )


class _Run:
    """The two sides, page after page."""

    def __init__(
        self,
        rulesets: Rulesets,
        draft: Ruleset,
        since: datetime,
        until: datetime,
        fallback: str | None,
        top: int,
    ) -> None:
        self.rulesets, self.draft = rulesets, draft
        self.since, self.until, self.fallback, self.top = since, until, fallback, top
        self.booked = LaneTally("booked")
        self.drafted = LaneTally("draft")
        self.budgets_booked: dict[str, int] = {}
        self.budgets_draft: dict[str, int] = {}
        self.affected: list[tuple[int, str, Affected]] = []
        self.events = 0

    def _booked(self, op: Operation) -> Ruleset:
        version = op.version or self.fallback
        assert version is not None, "an operation without a ruleset and none active"
        return self.rulesets.get(version)

    def may_read(self, page: Page) -> bool:
        """Whether the page's booked side may be read from its stored rows at all: not when
        its period was decided by more than one version (or none), nor under a version with
        a global budget (drawn in member order across pages)."""
        versions = {self._booked(op).version for op in page.operations if op.now >= self.since}
        if len(versions) != 1:
            return False
        ruleset = self.rulesets.get(versions.pop())
        return all(rule.budget is None for rule in ruleset.rules)

    def page(self, page: Page, stored: StoredRows | None) -> None:
        store = page.store
        store.budgets = self.budgets_booked
        before = dict(self.budgets_booked)
        period = []
        for op in page.operations:
            if op.now < self.since:
                apply(store, self._booked(op), op)
            else:
                period.append(op)
        for rule_id, spent in self.budgets_booked.items():  # what this page spent before
            gained = spent - before.get(rule_id, 0)
            self.budgets_draft[rule_id] = self.budgets_draft.get(rule_id, 0) + gained
        read = self._readable(page, period, stored) if stored is not None else set()
        every = bool(read) and len(read) == len(page.members)
        side, ended = None, store
        if stored is not None and read:
            mine = stored if every else rows_of(stored, read)
            side = stored_side(mine, store, self.since, self.until)
            ended = store_of(mine, store)
        other = store if every else _copy(store)  # the draft goes on from the start
        other.budgets = self.budgets_draft
        for op in period:
            ruleset = self._booked(op)
            if side is not None and op.member_id in read:
                key = (op.member_id, op.event_id) if isinstance(op, EventOp) else None
                self.booked.count_booked(ruleset, side.results[key] if key else None)
            else:
                self.booked.count(ruleset, *_applied(store, ruleset, op))
            self.drafted.count(self.draft, *_applied(other, self.draft, op))
            self.events += isinstance(op, EventOp)
        if side is not None and period:
            self.booked.count_rows(self._booked(period[0]), side.rows)
        booked = {m: ended if m in read else store for m in page.members}
        last = self._booked(period[-1]) if period else None
        current = last or (self.rulesets.get(self.fallback) if self.fallback else None)
        for member_id in page.members:
            if current is not None:
                settle_clock(booked[member_id], current, member_id, self.until)
            settle_clock(other, self.draft, member_id, self.until)
        self.booked.end_of_page({m: booked[m].member(m) for m in page.members})
        self.drafted.end_of_page({m: other.member(m) for m in page.members})
        self._most_affected(page, period)

    def _readable(self, page: Page, period: list[Operation], stored: StoredRows) -> set[str]:
        """The members of a page that `may_read` whose booked side is read from what their
        period stored (`service.replay.booked`), not decided again: none when the members
        decided again would share stock or coupon codes with a redemption read."""
        read = readable(page.operations, stored, page.groups or [page.members], self.until)
        if len(read) < len(page.members) and any(
            isinstance(op, RedeemOp | SettleOp) and op.member_id in read for op in period
        ):
            return set()
        return read

    def _most_affected(self, page: Page, period: list[Operation]) -> None:
        a, b = self.booked, self.drafted
        for member_id in page.members:
            booked, draft = a.member_points[member_id], b.member_points[member_id]
            difference = draft - booked
            if difference == 0:
                continue
            rank = (abs(difference), member_id)
            if len(self.affected) >= self.top and rank[0] <= self.affected[0][0]:
                continue
            events = [
                AffectedEvent(
                    event_id=op.event_id,
                    type=op.type,
                    occurred_at=op.occurred_at,
                    booked=a.event_points.get((member_id, op.event_id)),
                    draft=b.event_points.get((member_id, op.event_id)),
                )
                for op in period
                if isinstance(op, EventOp) and op.member_id == member_id
            ]
            entry = Affected(
                member_id=member_id,
                booked=booked,
                draft=draft,
                difference=difference,
                events=events[:50],
            )
            item = (abs(difference), member_id, entry)
            if len(self.affected) < self.top:
                heapq.heappush(self.affected, item)
            else:
                heapq.heapreplace(self.affected, item)
        for tally in (a, b):  # what is kept per member lives one page
            tally.member_points.clear()
            tally.event_points.clear()


def _applied(store: MemoryStore, ruleset: Ruleset, op: Operation) -> tuple[Any, Rows, bool]:
    """What `LaneTally.count` takes of an operation decided over `store`."""
    a = apply(store, ruleset, op)
    return a.outcome, a.rows, isinstance(op, EventOp)


def _copy(store: MemoryStore) -> MemoryStore:
    """A second store with the same members' state (the draft side starts from it)."""
    other = MemoryStore(store.profiles, store.code_owners)
    other.members = copy.deepcopy(store.members)
    other.stock = dict(store.stock)
    other.codes = copy.deepcopy(store.codes)
    other.referees = copy.deepcopy(store.referees)
    return other
