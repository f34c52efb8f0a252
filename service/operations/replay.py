"""`loyalty ledger replay --check`: decide every stored operation again, with the ruleset
version that booked it, and compare what that produces with what is stored.

Members are taken a page at a time (a page holds whole referral groups: a referee's purchase
books their referrer), each page's operations in the order they were decided, through the
pipeline's own plans and decision step over an in-memory store (`service.replay`). Both sides
are then brought to the same moment by the worker's own passes (lots that activated or
expired, tier lapses), and every member-owned row is compared. With a budgeted rule in any
version, all members are one page: a budget is shared by every member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from itertools import islice

import msgspec

from service.engine import Ruleset, RulesetInvalid, load_ruleset_from_files
from service.engine.loader import ruleset_version
from service.replay.compare import Difference, differences, store_of
from service.replay.journal import Components, operation_of
from service.replay.memory import MemoryStore
from service.replay.operations import DriftOp, Operation, ReviewOp, apply, settle_clock
from service.store import history
from service.store import rulesets as ruleset_store
from service.store.database import Database
from service.store.history import StoredRows

__all__ = [
    "ErasedDifferent",
    "Page",
    "PageMembers",
    "ReplayDone",
    "Rulesets",
    "load_page",
    "member_pages",
    "paged_members",
    "replay_check",
]

PAGE_MEMBERS = 500


class Rulesets:
    """The stored rulesets by version, loaded on first use (each checked against its hash)."""

    def __init__(self, files: dict[str, dict[str, str]]) -> None:
        self._files = files
        self._loaded: dict[str, Ruleset] = {}

    def tampered(self) -> dict[str, str]:
        """Stored rulesets whose files no longer hash to their version: version -> the hash."""
        return {
            version: ruleset_version(files)
            for version, files in sorted(self._files.items())
            if ruleset_version(files) != version
        }

    def budgeted(self, skip: set[str]) -> bool:
        """Whether any stored version (but `skip`) has a rule with a global budget."""
        return any(
            rule.budget is not None
            for v in self._files
            if v not in skip
            for rule in self.get(v).rules
        )

    def get(self, version: str) -> Ruleset:
        ruleset = self._loaded.get(version)
        if ruleset is None:
            files = self._files.get(version)
            if files is None:
                raise LookupError(f"ruleset {version} is not stored")
            ruleset = load_ruleset_from_files(files, origin=f"ruleset {version[:16]}")
            self._loaded[version] = ruleset
        return ruleset


class Page(msgspec.Struct, kw_only=True):
    """A page of members with their profiles and the operations decided for them."""

    members: list[str]
    operations: list[Operation]
    store: MemoryStore
    groups: list[list[str]] = []
    """The members a referral ties together, group by group (every member is in one)."""


class PageMembers(msgspec.Struct, frozen=True, kw_only=True):
    """Whom a page holds: its members, sorted, and their referral groups."""

    members: list[str]
    groups: list[list[str]]


async def paged_members(
    db: Database,
    *,
    only: Sequence[str] | None = None,
    one_page: bool = False,
    size: int = PAGE_MEMBERS,
) -> AsyncIterator[PageMembers]:
    """Every member (or `only`) in pages of about `size` members, in whole referral groups."""
    async with db.connection() as conn:
        components = Components(await history.referral_links(conn))
    done: set[str] = set()
    after = ""
    pending: list[str] = []
    groups: list[list[str]] = []
    while True:
        async with db.connection() as conn:
            ids = await history.member_page(conn, after, size, only)
        for member_id in ids:
            if member_id not in done:
                group = components.of(member_id)
                done.update(group)
                pending.extend(group)
                groups.append(group)
        last = not ids or len(ids) < size
        if pending and (last or (not one_page and len(pending) >= size)):
            yield PageMembers(members=sorted(pending), groups=groups)
            pending, groups = [], []
        if last:
            return
        after = ids[-1]
        # the scan has passed every id up to `after`: only members taken early, with a group,
        # must still be remembered (so memory holds the groups in flight, not every member)
        done = {m for m in done if m > after}


async def load_page(
    db: Database, members: PageMembers, until: datetime | None, owners: dict[str, str]
) -> Page:
    """A page's operations decided before `until`, and a fresh store holding its profiles
    (`owners`: every referral code's owner)."""
    async with db.connection() as conn:
        rows = await history.operations(conn, members.members, until)
        profiles = await history.profiles(conn, members.members)
    return Page(
        members=members.members,
        operations=[operation_of(r) for r in rows],
        store=MemoryStore(profiles, owners),
        groups=members.groups,
    )


async def member_pages(
    db: Database,
    *,
    only: Sequence[str] | None = None,
    until: datetime | None = None,
    one_page: bool = False,
    page_members: int = PAGE_MEMBERS,
) -> AsyncIterator[Page]:
    """Every member (or `only`) in pages of whole referral groups, with their operations
    decided before `until`, each page with a fresh store holding its profiles."""
    async with db.connection() as conn:
        owners = await history.code_owners(conn)
    pages = paged_members(db, only=only, one_page=one_page, size=page_members)
    async for members in pages:
        yield await load_page(db, members, until, owners)


class ReplayDone(msgspec.Struct, kw_only=True):
    """The check's end: members and operations replayed, and members with differences."""

    members: int
    operations: int
    members_different: int
    erased_different: int = 0
    """Erased members whose history, decided again, differs (not counted as different)."""


class ErasedDifferent(msgspec.Struct, kw_only=True):
    """An erased member whose history, decided again, differs from what is stored.

    Erasure removed the profile (birthday, time zone, attributes) that their decisions may have
    read, so the replay decides them without it: the stored rows are the record, and a
    difference here is the erased input, not a fault. `ledger verify` still checks them."""

    member_id: str
    differences: int
    first: Difference

    def line(self) -> str:
        return (
            f"{self.member_id}: erased at their request; decided again without the personal data "
            f"erased with it, {self.differences} rows differ (a note, not a failure; the first: "
            f"{self.first.line()})"
        )


async def replay_check(
    db: Database,
    now: datetime,
    *,
    only: Sequence[str] | None = None,
    per_member: int = 5,
    on_page: Callable[[int, int], None] | None = None,
) -> AsyncIterator[Difference | ErasedDifferent | str | ReplayDone]:
    """Yield each problem (a tampered ruleset, as text) and the first `per_member`
    differences of each member, then the totals. `now` is the moment both sides are
    brought to before they are compared (the worker's passes)."""
    async with db.connection() as conn:
        rulesets = Rulesets(await history.ruleset_files(conn))
        active = await ruleset_store.fetch_active_version(conn)
    tampered = rulesets.tampered()
    for version, digest in tampered.items():
        yield f"ruleset {version}: its stored files hash to {digest}"
    bad = set(tampered)
    current = rulesets.get(active.version) if active and active.version not in bad else None
    members = operations = different = erased_different = 0
    async for page in member_pages(db, only=only, one_page=_budgeted(rulesets, bad)):
        store = page.store
        async with db.connection() as conn:
            rows = await history.stored_rows(conn, page.members)
            erased = await history.erased(conn, page.members)
        broken = _replay_page(page, rows, rulesets, active.version if active else None, bad)
        for member_id, why in sorted(broken.items()):
            yield f"{member_id}: {why}"
        stored = store_of(rows, store)
        if current is not None:
            # as far as the worker's passes have brought the stored side, or further
            moment = max(
                [now, *(op.now for op in page.operations), *(e.at for e in rows.entries)]
                + [m.at for m in rows.tier_moves]
                + [m.at for m in rows.engagement_moves]
            )
            for member_id in page.members:
                try:
                    settle_clock(stored, current, member_id, moment)
                except AssertionError as exc:  # the stored lots and balances disagree
                    broken.setdefault(member_id, f"stored state is inconsistent: {exc}")
                    yield f"{member_id}: stored state is inconsistent: {exc}"
                    continue
                settle_clock(store, current, member_id, moment)
        found, d, e = _compared(stored, store, page.members, erased, broken, per_member)
        different, erased_different = different + d, erased_different + e
        for outcome in found:
            yield outcome
        members += len(page.members)
        operations += len(page.operations)
        if on_page is not None:
            on_page(members, operations)
    yield ReplayDone(
        members=members,
        operations=operations,
        members_different=different,
        erased_different=erased_different,
    )


def _compared(
    stored: MemoryStore,
    store: MemoryStore,
    members: list[str],
    erased: set[str],
    broken: dict[str, str],
    per_member: int,
) -> tuple[list[Difference | ErasedDifferent], int, int]:
    """The page's first `per_member` differences of each member (an erased member's as one
    note), the members that differ, and the erased members that differ."""
    out: list[Difference | ErasedDifferent] = []
    different = erased_different = 0
    for member_id in members:
        if member_id in erased and member_id not in broken:
            every = list(differences(stored, store, [member_id]))
            if every:
                erased_different += 1
                out.append(
                    ErasedDifferent(member_id=member_id, differences=len(every), first=every[0])
                )
            continue
        found = list(islice(differences(stored, store, [member_id]), per_member))
        if found or member_id in broken:
            different += 1
        out.extend(found)
    return out, different, erased_different


def _replay_page(
    page: Page, rows: StoredRows, rulesets: Rulesets, fallback: str | None, bad: set[str]
) -> dict[str, str]:
    """Decide the page's operations again into its store; the members whose history could
    not be replayed, with why (the first operation that could not)."""
    broken: dict[str, str] = {}
    for op in with_worker_reviews(page.operations, rows):
        version = op.version or fallback
        try:
            if version is None or version in bad:
                raise LookupError(f"ruleset {version} is not stored intact")
            apply(page.store, rulesets.get(version), op)
        except (LookupError, RulesetInvalid) as exc:
            broken.setdefault(op.member_id, f"operation {op.seq} cannot be replayed: {exc}")
    return broken


_Pass = tuple[datetime, type[ReviewOp] | type[DriftOp]]


def _worker_passes(rows: StoredRows) -> dict[str, list[_Pass]]:
    """Per member, in time order, the worker's passes the stored rows show."""
    answered: dict[str, set[tuple[str | None, str | None, datetime]]] = defaultdict(set)
    for event in rows.events:
        for move in event.result.tier_moves:
            answered[event.member_id].add((move.from_tier, move.to_tier, move.at))
    passes: dict[str, list[_Pass]] = defaultdict(list)
    for row in sorted(rows.tier_moves, key=lambda m: (m.member_id, m.seq)):
        if (row.from_tier, row.to_tier, row.at) not in answered[row.member_id]:
            passes[row.member_id].append((row.at, ReviewOp))
    for level in rows.engagement_moves:
        if level.event_id is None:
            passes[level.member_id].append((level.at, DriftOp))
    for due in passes.values():
        due.sort(key=lambda p: p[0])
    return passes


def with_worker_reviews(operations: list[Operation], rows: StoredRows) -> list[Operation]:
    """The operations with the worker's passes put back between them: a stored tier move
    that no event answered was made by the worker, at some moment between its lapse and the
    member's next operation (it is reviewed again at the lapse); an engagement level move
    stored with no event was the worker's engagement pass, at its time."""
    passes = _worker_passes(rows)
    if not passes:
        return operations
    out: list[Operation] = []
    version: dict[str, str | None] = {}
    for op in operations:
        due = passes.get(op.member_id, [])
        # a drift stored at an operation's own moment came first: the operation would have
        # settled the level itself, leaving the worker nothing to notice
        while due and (due[0][0] < op.now or (due[0][1] is DriftOp and due[0][0] == op.now)):
            at, kind = due.pop(0)
            out.append(kind(seq=op.seq, now=at, version=op.version, member_id=op.member_id))
        out.append(op)
        version[op.member_id] = op.version
    for member_id, due in passes.items():
        for at, kind in due:
            out.append(kind(seq=0, now=at, version=version.get(member_id), member_id=member_id))
    return out


def _budgeted(rulesets: Rulesets, bad: set[str]) -> bool:
    try:
        return rulesets.budgeted(bad)
    except RulesetInvalid:
        return False
