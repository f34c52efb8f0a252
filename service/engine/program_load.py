"""Loading `program.yaml`: the program's identity and time zone, its event types and member
attributes, catalog, leaderboards, engagement and tiers, in the order each needs the last."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.engine.board_load import load_boards
from service.engine.bounds import program_numbers
from service.engine.catalog_load import check_badge_levels, check_catalog
from service.engine.engagement_load import load_engagement
from service.engine.event_type_load import build_envs, load_event_types
from service.engine.files import ProgramFile
from service.engine.load_context import LoadContext
from service.engine.ruleset import Program
from service.engine.tier_load import load_tiers
from service.engine.yamldoc import YamlDoc, decode

__all__ = ["PROGRAM_FILE", "load_program"]

PROGRAM_FILE = "program.yaml"


def _timezone(ctx: LoadContext, doc: YamlDoc, tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        ctx.problems.append(doc.problem(("program", "timezone"), f"unknown time zone '{tz}'"))
        return "UTC"
    return tz


def _decoded(ctx: LoadContext) -> tuple[YamlDoc, ProgramFile] | None:
    doc = ctx.parse(PROGRAM_FILE)
    if doc is None:
        return None
    if not isinstance(doc.data, dict):
        ctx.problems.append(doc.problem((), "expected a mapping with a 'program:' section"))
        return None
    parsed, problems = decode(doc, doc.data, (), ProgramFile)
    ctx.problems.extend(problems)
    return None if parsed is None else (doc, parsed)


def load_program(ctx: LoadContext) -> Program | None:
    """The program of `program.yaml` (None when it cannot be decoded); what it declares
    (time zone, event types, attributes, badges, CEL environments) into `ctx`."""
    decoded = _decoded(ctx)
    if decoded is None:
        return None
    doc, parsed = decoded
    ctx.tz = _timezone(ctx, doc, parsed.program.timezone)
    load_event_types(ctx, doc, parsed)
    check_catalog(ctx, doc, parsed)
    ctx.problems.extend(program_numbers(doc, parsed))
    leaderboards = load_boards(ctx, doc, parsed.leaderboards)
    engagement = load_engagement(ctx, doc, parsed.engagement)
    build_envs(ctx, tuple(c.id for c in engagement.components))
    for i, badge in enumerate(parsed.badges):
        check_badge_levels(ctx, doc, i, badge)
    tiers = load_tiers(ctx, doc, parsed.tiers)
    return Program(
        name=parsed.program.name,
        timezone=ctx.tz,
        currency=parsed.program.currency,
        points=parsed.program.points,
        rewards=tuple(parsed.rewards),
        badges={b.id: b for b in parsed.badges},
        member_attributes=ctx.member_attributes,
        leaderboards=leaderboards,
        tiers=tiers,
        engagement=engagement,
    )
