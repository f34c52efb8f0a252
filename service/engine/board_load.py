"""Loading `leaderboards:` of `program.yaml`: ids unique, a metric the boards count, a segment
that is a declared member attribute."""

from __future__ import annotations

from service.core.boards import check_boards
from service.engine.files import BoardDef
from service.engine.load_context import LoadContext
from service.engine.yamldoc import YamlDoc

__all__ = ["load_boards"]


def load_boards(ctx: LoadContext, doc: YamlDoc, boards: list[BoardDef]) -> tuple[BoardDef, ...]:
    """The program's boards, each problem at its field."""
    for index, field, message in check_boards(
        [(b.id, b.metric, b.segment) for b in boards],
        ctx.event_types,
        {n: s.type for n, s in ctx.member_attributes.items()},
    ):
        ctx.problems.append(doc.problem(("leaderboards", index, field), message))
    return tuple(boards)
