"""Compiling the CEL a rule file holds: each refusal a problem at the expression's own
`file:line:col`, and the cost of every event type's expressions kept within bounds."""

from __future__ import annotations

from service.engine.cel import CelCompileError, CelEnv, CompiledExpr
from service.engine.costs import MAX_EVENT_COST, check_length, measure, variable_shape
from service.engine.load_context import LoadContext
from service.engine.problems import Problem
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["compile_condition", "compile_expr"]


def compile_expr(
    ctx: LoadContext,
    doc: YamlDoc,
    path: Path,
    env: CelEnv,
    source: str,
    expected: tuple[str, ...],
) -> CompiledExpr | None:
    """Compile a CEL expression found at `path`; a refusal becomes a positioned problem."""
    try:
        check_length(source)
        compiled = env.compile(source, expected)
        # refuse expressions too costly to evaluate, at load time: nothing can stop one once
        # it runs
        shapes = {name: variable_shape(t) for name, t in env.declared.items()}
        cost = measure(compiled, shapes)
    except CelCompileError as exc:
        pos = doc.pos(path)
        line = pos.text_line + exc.line - 1
        col = pos.text_col + exc.col - 1 if exc.line == 1 or pos.style in ("|", ">") else exc.col
        ctx.problems.append(Problem(doc.file, line, col, exc.message))
        return None
    before = ctx.event_costs.get(env.event_type, 0)
    ctx.event_costs[env.event_type] = before + cost
    if before <= MAX_EVENT_COST < before + cost:
        ctx.problems.append(
            doc.problem(
                path,
                f"the expressions on {env.event_type} events pass a cost of "
                f"{MAX_EVENT_COST:,} in all here (each event runs them all): "
                "too costly to evaluate",
            )
        )
    return compiled


def compile_condition(
    ctx: LoadContext, doc: YamlDoc, path: Path, event_type: str, when: str | bool
) -> CompiledExpr | None:
    """A `when:` of a challenge step, a streak or the referral (None: always true)."""
    if when is False:
        ctx.problems.append(doc.problem(path, "'when: false' never holds; remove it"))
    if not isinstance(when, str) or event_type not in ctx.envs:
        return None
    return compile_expr(ctx, doc, path, ctx.envs[event_type], when, ("BOOL",))
