"""Leaderboards: read the top, a member's standing; rebuild a histogram.

Scores are booked with the events that earn them (`service.decide.scoring`), in the event's
transaction, so a board never shows points the ledger does not have. Reads take no locks: one
or two statements each.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import msgspec

from service.core.boards import (
    GROUP_SIZE,
    Board,
    bucket_bounds,
    bucket_of,
    display_name,
    group_of,
    histogram_rows,
    parse_period_key,
    period_key_for,
)
from service.decide.plan import LockPlan, read_plan
from service.decide.rows import Log, changed_rows
from service.decide.scoring import scored
from service.engine import Event, Ruleset
from service.engine.board_load import period_text
from service.errors import InvalidInput, NotFound
from service.runtime import Runtime
from service.store import boards as board_store
from service.store.boards import BoardRow, MemberStanding, Neighbourhood
from service.store.database import Connection
from service.store.member_sets import load_set, lock_set
from service.store.set_writes import apply_histogram, save_rows

__all__ = [
    "BoardEntry",
    "BoardPage",
    "Standing",
    "rebuild_histogram",
    "record",
    "standing",
    "top",
]

NEIGHBOURS = 2
"""Members shown on each side of a member's own entry."""


class BoardEntry(msgspec.Struct, kw_only=True):
    """One line of a board: the rank, a name fit to show, the score."""

    rank: int
    name: str
    """Display name, a neutral `Member #NNNN`, or `Anonymous member` for hidden members."""
    score: int
    you: bool = False
    """True on the calling member's own line."""


class BoardPage(msgspec.Struct, kw_only=True):
    """The top of a board for one period (and segment)."""

    board: str
    name: str
    metric: str
    period: str
    period_key: str
    segment: str | None
    entries: list[BoardEntry]


class Standing(msgspec.Struct, kw_only=True):
    """Where a member stands on a board: rank, score, neighbours and the gap to the next rank."""

    board: str
    name: str
    metric: str
    period: str
    period_key: str
    segment: str | None
    """The segment ranked in (the member's own attribute value unless one was asked for)."""
    ranked: bool
    """False when the member has no score on this board and period (or lacks the segment)."""
    rank: int | None
    score: int
    total: int
    """Members on this board, period and segment."""
    entry: BoardEntry | None
    above: list[BoardEntry]
    """The members just above, nearest last (board order)."""
    below: list[BoardEntry]
    """The members just below, nearest first."""
    gap: int | None
    """Points behind the member just above (0 when tied: they reached the score first)."""


async def record(
    conn: Connection, ruleset: Ruleset, event: Event, points_earned: int, now: datetime
) -> None:
    """Add an event's points to every board its metric touches, in the period of
    `occurred_at`, for a member locked here (the intake does this as part of an event; this
    is the same load, decision and save for a score alone: tests and the board benchmark)."""
    member_id = event.member_id
    locked = await lock_set(conn, LockPlan(members=[member_id], referees=[], codes=[], budgets=[]))
    loaded = await load_set(conn, read_plan(ruleset, [event], [member_id], now), locked)
    before = loaded.members
    after = {member_id: scored(ruleset, before[member_id], event, points_earned)}
    rows = changed_rows(before, after, {}, {}, Log(), now, ruleset.program.timezone)
    await save_rows(conn, rows)
    await apply_histogram(conn, rows)


def _board(ruleset: Ruleset, board_id: str) -> Board:
    for board in ruleset.program.leaderboards:
        if board.id == board_id:
            return board
    raise NotFound(f"no leaderboard '{board_id}'", field="board")


def _period_key(ruleset: Ruleset, board: Board, period: str, now: datetime) -> str:
    if period == "current":
        return period_key_for(board.period, now, ruleset.program.timezone)
    key = parse_period_key(board.period, period)
    if key is None:
        examples = {"day": "2026-03-02", "week": "2026-W10", "month": "2026-03", "lifetime": "all"}
        raise InvalidInput(
            f"'{period}' is not a {period_text(board.period)} period of board '{board.id}' "
            f"(use current or a key like {examples[board.period]})",
            field="period",
        )
    return key


def _check_segment(board: Board, segment: str | None, required: bool) -> None:
    if board.segment is None and segment is not None:
        raise InvalidInput(f"board '{board.id}' has no segments", field="segment")
    if board.segment is not None and segment is None and required:
        raise InvalidInput(
            f"board '{board.id}' is one board per {board.segment}: give segment=<{board.segment}>",
            field="segment",
        )


def _entry(row: BoardRow, rank: int, viewer: str | None) -> BoardEntry:
    you = row.member_id == viewer
    return BoardEntry(
        rank=rank,
        name=display_name(row.member_id, row.display_name, row.hidden, you),
        score=row.score,
        you=you,
    )


def _board_period(
    runtime: Runtime, board_id: str, period: str, segment: str | None, *, segment_required: bool
) -> tuple[Board, str]:
    """The active ruleset's board and the key of the period asked for (as of now); the
    segment checked against the board's."""
    ruleset = runtime.rules.current
    board = _board(ruleset, board_id)
    key = _period_key(ruleset, board, period, runtime.clock.now())
    _check_segment(board, segment, required=segment_required)
    return board, key


async def top(
    runtime: Runtime,
    board_id: str,
    *,
    period: str,
    segment: str | None,
    limit: int,
    viewer: str | None,
) -> BoardPage:
    """The first `limit` members of a board; `viewer` is the calling member, if any."""
    board, key = _board_period(runtime, board_id, period, segment, segment_required=True)
    async with runtime.db.connection() as conn:
        rows = await board_store.top_rows(conn, board.id, key, segment or "", limit)
    return BoardPage(
        board=board.id,
        name=board.name,
        metric=board.metric.key,
        period=period_text(board.period),
        period_key=key,
        segment=segment,
        entries=[_entry(row, rank, viewer) for rank, row in enumerate(rows, start=1)],
    )


async def standing(
    runtime: Runtime,
    board_id: str,
    member_id: str,
    *,
    period: str,
    segment: str | None,
    viewer: str | None,
) -> Standing:
    """A member's rank, score, neighbours and gap; `viewer` is the calling member, if any."""
    board, key = _board_period(runtime, board_id, period, segment, segment_required=False)
    async with runtime.db.connection() as conn:
        row = await board_store.member_standing_row(
            conn, member_id, board.id, key, segment, board.segment
        )
        if row is None:
            raise NotFound(f"no member '{member_id}'", field="member_id")
        shown_segment = row.segment if board.segment is not None else None
        result = Standing(
            board=board.id,
            name=board.name,
            metric=board.metric.key,
            period=period_text(board.period),
            period_key=key,
            segment=shown_segment,
            ranked=False,
            rank=None,
            score=0,
            total=0,
            entry=None,
            above=[],
            below=[],
            gap=None,
        )
        if row.score is None:
            return result
        around = await _around(conn, board.id, key, member_id, row)
    return _ranked(
        result, around, BoardRow(member_id, row.score, row.display_name, row.hidden), viewer
    )


async def _around(
    conn: Connection, board_id: str, key: str, member_id: str, row: MemberStanding
) -> Neighbourhood:
    """Who is ahead of the member (on the board, with a score) and their neighbours."""
    assert row.score is not None and row.neg_score is not None and row.reached_at is not None
    bucket = bucket_of(row.score)
    return await board_store.neighbourhood(
        conn,
        board_id=board_id,
        period_key=key,
        segment=row.segment,
        bucket=bucket,
        group_end=(group_of(bucket) + 1) * GROUP_SIZE,
        bucket_high=bucket_bounds(bucket)[1],
        member_id=member_id,
        neg_score=row.neg_score,
        reached_at=row.reached_at,
        around=NEIGHBOURS,
    )


def _ranked(result: Standing, around: Neighbourhood, me: BoardRow, viewer: str | None) -> Standing:
    """The standing of a member on the board: rank, neighbours each way and the gap."""
    score = me.score
    rank = around.in_higher_buckets + around.ahead_in_bucket + 1
    return msgspec.structs.replace(
        result,
        ranked=True,
        rank=rank,
        score=score,
        total=around.total,
        entry=_entry(me, rank, viewer),
        above=[_entry(r, rank - i, viewer) for i, r in enumerate(around.above, 1)][::-1],
        below=[_entry(r, rank + i, viewer) for i, r in enumerate(around.below, 1)],
        gap=around.above[0].score - score if around.above else None,
    )


async def rebuild_histogram(
    conn: Connection, board_id: str, period_key: str, segment: str = ""
) -> int:
    """Rebuild one board period's histogram from the scores (the source of truth); returns
    the number of members counted. Run with writers to that board stopped."""
    per_bucket: dict[int, int] = defaultdict(int)
    for score, members in await board_store.score_counts(conn, board_id, period_key, segment):
        per_bucket[bucket_of(score)] += members
    changes = histogram_rows(board_id, period_key, segment, per_bucket)
    await board_store.replace_histogram(conn, board_id, period_key, segment, changes)
    return sum(per_bucket.values())
