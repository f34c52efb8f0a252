"""A backtest's two sides, page after page: each page's members go through the period once
with the booked versions (read from the stored rows where they may be) and once with the
draft, and what both sides booked is counted.

A page's counts are a `RunPart`, which adds up: pages decided in other processes
(`backtest_pool.py`) are counted by absorbing their parts in page order, which gives the same
report as deciding every page here.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import msgspec

from service.decide.rows import Rows
from service.engine import Ruleset
from service.operations.replay import Page, PageMembers, Rulesets, load_page
from service.replay.booked import readable, rows_of, stored_side
from service.replay.compare import store_of
from service.replay.memory import MemoryStore
from service.replay.operations import EventOp, Operation, RedeemOp, SettleOp, apply, settle_clock
from service.replay.report import LaneTally, TallyPart
from service.store import history
from service.store.database import Database
from service.store.history import StoredRows

__all__ = ["Affected", "AffectedEvent", "PageRun", "RunPart", "decide_page"]


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


class RunPart(msgspec.Struct, kw_only=True):
    """What some pages counted: each side's tally, their most affected members, their
    events and members."""

    booked: TallyPart
    draft: TallyPart
    affected: list[Affected]
    events: int
    members: int


def _rank(a: Affected) -> tuple[int, str]:
    """Most affected first: the largest difference either way, then by member id."""
    return -abs(a.difference), a.member_id


class PageRun:
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
        self.affected: list[Affected] = []
        """The `top` most affected so far, most affected first (`_rank`)."""
        self.events = 0
        self.members = 0

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
        self.members += len(page.members)

    def part(self) -> RunPart:
        """What this run counted, to be absorbed by another (its pages' only)."""
        return RunPart(
            booked=self.booked.part(),
            draft=self.drafted.part(),
            affected=list(self.affected),
            events=self.events,
            members=self.members,
        )

    def absorb(self, part: RunPart) -> None:
        """Count the pages another run counted (`part`), as if they were decided here next."""
        self.booked.merge(part.booked, self.rulesets.get)
        self.drafted.merge(part.draft, lambda _: self.draft)
        self._keep_most_affected(part.affected)
        self.events += part.events
        self.members += part.members

    def _keep_most_affected(self, more: list[Affected]) -> None:
        self.affected = sorted([*self.affected, *more], key=_rank)[: self.top]

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
        differences = [
            (-abs(b.member_points[m] - a.member_points[m]), m)
            for m in page.members
            if b.member_points[m] != a.member_points[m]
        ]
        chosen = []
        for _, member_id in sorted(differences)[: self.top]:
            booked, draft = a.member_points[member_id], b.member_points[member_id]
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
            chosen.append(
                Affected(
                    member_id=member_id,
                    booked=booked,
                    draft=draft,
                    difference=draft - booked,
                    events=events[:50],
                )
            )
        self._keep_most_affected(chosen)
        for tally in (a, b):  # what is kept per member lives one page
            tally.member_points.clear()
            tally.event_points.clear()


async def decide_page(
    db: Database, run: PageRun, members: PageMembers, owners: dict[str, str]
) -> None:
    """Read a page's operations (and, where its booked side may be read, its stored rows)
    and count it in `run` (`owners`: every referral code's owner)."""
    page = await load_page(db, members, run.until, owners)
    stored = None
    if run.may_read(page):  # else the page is decided again whole: its rows are not read
        async with db.connection() as conn:
            stored = await history.stored_rows(conn, page.members)
    run.page(page, stored)


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
