"""Loading `leaderboards:` of `program.yaml` into the core's boards: ids unique, a metric the
boards rank by, a segment that is a declared member attribute. Rule files (and the API) call
a lifetime board's period `all_time`; `period_text` is that spelling."""

from __future__ import annotations

from typing import assert_never

from service.core.boards import Board, BoardMetric, BoardPeriod
from service.core.metrics import EventCount, PointsEarned, Spend, parse_metric
from service.engine.files import BoardDef
from service.engine.load_context import LoadContext
from service.engine.yamldoc import YamlDoc

__all__ = ["load_boards", "period_text"]


def period_text(period: BoardPeriod) -> str:
    """A board's period as rule files and the API write it (`all_time` for `lifetime`)."""
    return "all_time" if period == "lifetime" else period


def _metric(ctx: LoadContext, doc: YamlDoc, index: int, text: str) -> BoardMetric | None:
    where = ("leaderboards", index, "metric")
    match parse_metric(text):
        case PointsEarned() as metric:
            return metric
        case EventCount() as metric if metric.event in ctx.event_types:
            return metric
        case EventCount() as metric:
            message = f"unknown event type '{metric.event}' in '{text}'"
        case Spend() | None:
            message = f"unknown metric '{text}' (points_earned or count:<type>)"
        case unknown:
            assert_never(unknown)
    ctx.problems.append(doc.problem(where, message))
    return None


def load_boards(ctx: LoadContext, doc: YamlDoc, boards: list[BoardDef]) -> tuple[Board, ...]:
    """The program's boards, each problem at its field."""
    seen: set[str] = set()
    out: list[Board] = []
    for index, board in enumerate(boards):
        if board.id in seen:
            message = f"duplicate leaderboard id '{board.id}'"
            ctx.problems.append(doc.problem(("leaderboards", index, "id"), message))
        seen.add(board.id)
        metric = _metric(ctx, doc, index, board.metric)
        if board.segment is not None and board.segment not in ctx.member_attributes:
            message = f"unknown member attribute '{board.segment}'"
            ctx.problems.append(doc.problem(("leaderboards", index, "segment"), message))
        period: BoardPeriod = "lifetime" if board.period == "all_time" else board.period
        if metric is not None:
            out.append(Board(board.id, board.name, metric, period, board.segment))
    return tuple(out)
