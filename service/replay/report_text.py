"""A backtest report as a readable table (a terminal) or Markdown (pasted into a review)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from service.operations.backtest import BacktestReport
from service.replay.report import LaneReport

__all__ = ["render"]


def _table(head: list[str], rows: Iterable[list[object]], markdown: bool) -> list[str]:
    cells = [head, *[[str(c) for c in row] for row in rows]]
    if len(cells) == 1:
        return ["(none)"]
    if markdown:
        lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        return lines
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    line = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return [line[0], "  ".join("-" * w for w in widths), *line[1:]]


def _side_by_side(
    booked: Mapping[str, int], draft: Mapping[str, int], markdown: bool, what: str
) -> list[str]:
    keys = sorted(set(booked) | set(draft))
    rows = [
        [k, booked.get(k, 0), draft.get(k, 0), _signed(draft.get(k, 0) - booked.get(k, 0))]
        for k in keys
    ]
    return _table([what, "booked", "draft", "difference"], rows, markdown)


def _signed(n: int) -> str:
    return f"{n:+d}" if n else "0"


def render(report: BacktestReport, *, markdown: bool = False) -> str:
    """The whole report, section by section."""
    a, b = report.booked, report.draft
    h = "### " if markdown else ""
    out = [
        f"{'## ' if markdown else ''}Backtest of draft {report.draft_version[:16]}: "
        f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d}, {report.events} events of "
        f"{report.members} members ({report.events_per_second:,.0f} events/s)",
        "",
    ]
    out += _table(["", "booked", "draft", "difference"], _totals(report), markdown)
    out += ["", f"{h}Points per rule (net of refunds)", ""]
    out += _table(
        ["rule", "booked", "draft", "difference", "fired (booked / draft)"],
        _per_rule(a, b),
        markdown,
    )
    for title, booked, draft, what in (
        ("Members per tier at the end", a.tiers_at_end, b.tiers_at_end, "tier"),
        ("Tier moves", a.tier_moves, b.tier_moves, "move"),
        ("Badges granted", a.badges, b.badges, "badge"),
        ("Challenges completed", a.challenges_completed, b.challenges_completed, "challenge"),
        ("Streak milestones", a.streak_milestones, b.streak_milestones, "streak: milestone"),
        ("Caps reached (members)", a.caps_reached, b.caps_reached, "rule:period"),
        ("Rules failing at run time (events)", a.failed_rules, b.failed_rules, "rule"),
    ):
        out += ["", f"{h}{title}", ""]
        out += _side_by_side(booked, draft, markdown, what)
    out += ["", f"{h}Rules that never fired", ""]
    out += [
        f"- booked: {', '.join(a.never_fired) or 'none'}",
        f"- draft: {', '.join(b.never_fired) or 'none'}",
    ]
    out += [
        f"- budgets used up: booked {', '.join(a.budgets_reached) or 'none'}; "
        f"draft {', '.join(b.budgets_reached) or 'none'}"
    ]
    out += _most_affected(report, markdown, h)
    out += ["", "Notes: " + "; ".join(report.notes) + "."]
    return "\n".join(out) + "\n"


def _totals(report: BacktestReport) -> list[list[object]]:
    """Points earned, reversed and net, the cost, and the refusals: booked against draft."""
    a, b = report.booked, report.draft
    money = f" ({report.currency}, {report.point_value} per point)" if report.point_value else ""
    return [
        [
            "points earned",
            a.points_earned,
            b.points_earned,
            _signed(b.points_earned - a.points_earned),
        ],
        [
            "points reversed",
            a.points_reversed,
            b.points_reversed,
            _signed(b.points_reversed - a.points_reversed),
        ],
        ["points net", a.points_net, b.points_net, _signed(report.points_difference)],
        [f"cost{money}", a.cost or "-", b.cost or "-", report.cost_difference or "-"],
        [
            "events refused",
            a.events_refused,
            b.events_refused,
            _signed(b.events_refused - a.events_refused),
        ],
        [
            "redemptions refused",
            a.redemptions_refused,
            b.redemptions_refused,
            _signed(b.redemptions_refused - a.redemptions_refused),
        ],
    ]


def _per_rule(a: LaneReport, b: LaneReport) -> list[list[object]]:
    """Each rule's net points and how often it fired, booked against draft."""
    rows: list[list[object]] = []
    for rule_id in sorted(set(a.rules) | set(b.rules)):
        x, y = a.rules.get(rule_id), b.rules.get(rule_id)
        net_x = (x.earned - x.reversed) if x else 0
        net_y = (y.earned - y.reversed) if y else 0
        rows.append(
            [
                rule_id,
                net_x,
                net_y,
                _signed(net_y - net_x),
                f"{x.fired if x else 0} / {y.fired if y else 0}",
            ]
        )
    return rows


def _most_affected(report: BacktestReport, markdown: bool, h: str) -> list[str]:
    """The members whose points the draft changes most, and the events of the first."""
    out = ["", f"{h}Members most affected", ""]
    rows: list[list[object]] = [
        [m.member_id, m.booked, m.draft, _signed(m.difference), len(m.events)]
        for m in report.most_affected
    ]
    out += _table(["member", "booked", "draft", "difference", "events"], rows, markdown)
    if report.most_affected:
        top = report.most_affected[0]
        out += ["", f"{h}Events of {top.member_id}", ""]
        rows = [
            [
                e.occurred_at.strftime("%Y-%m-%d %H:%M"),
                e.type,
                e.event_id,
                "refused" if e.booked is None else e.booked,
                "refused" if e.draft is None else e.draft,
            ]
            for e in top.events
        ]
        out += _table(["when", "type", "event", "booked", "draft"], rows, markdown)
    return out
