"""Loading a rule file's `challenges:`: windows, ordered steps (a count or a CEL sum of events
passing a condition) and the reward, compiled for the engine's `progress`."""

from __future__ import annotations

from service.engine.bounds import challenge_numbers
from service.engine.expression_load import compile_condition, compile_expr
from service.engine.files import ChallengeDef, ChallengeStepDef
from service.engine.load_context import LoadContext, check_badge, known_event_type
from service.engine.progress_defs import CompiledChallenge, CompiledStep
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["load_challenge"]


def _step(
    ctx: LoadContext, doc: YamlDoc, path: Path, step: ChallengeStepDef
) -> CompiledStep | None:
    if not known_event_type(ctx, doc, (*path, "on"), step.on):
        return None
    when = compile_condition(ctx, doc, (*path, "when"), step.on, step.when)
    if (step.count is None) == (step.sum is None):
        ctx.problems.append(doc.problem(path, "a step needs exactly one of count or sum"))
        return None
    if step.count is not None:
        if step.count <= 0 or step.target is not None:
            ctx.problems.append(
                doc.problem((*path, "count"), "count is the target: a positive int, no target")
            )
            return None
        return CompiledStep(step.on, step.count, step.name or f"{step.count} x {step.on}", when)
    if step.target is None or step.target <= 0:
        ctx.problems.append(doc.problem(path, "a sum step needs a positive 'target'"))
        return None
    assert step.sum is not None
    amount = compile_expr(ctx, doc, (*path, "sum"), ctx.envs[step.on], step.sum, ("INT", "DOUBLE"))
    name = step.name or f"{step.target} of {step.sum} on {step.on}"
    return CompiledStep(step.on, step.target, name, when, amount) if amount else None


def _check_reward(ctx: LoadContext, doc: YamlDoc, path: Path, challenge: ChallengeDef) -> None:
    check_badge(ctx, doc, (*path, "reward", "badge"), challenge.reward.badge)
    if challenge.reward.points < 0 or (
        not challenge.reward.points and challenge.reward.badge is None
    ):
        ctx.problems.append(
            doc.problem((*path, "reward"), "a reward needs positive points or a badge")
        )


def load_challenge(ctx: LoadContext, doc: YamlDoc, path: Path, challenge: ChallengeDef) -> None:
    """Check and compile one challenge into `ctx.challenges`."""
    before = len(ctx.problems)
    if (challenge.every is None) == (challenge.start is None and challenge.end is None):
        ctx.problems.append(doc.problem(path, "a challenge needs either 'every' or 'start'/'end'"))
    if not challenge.steps:
        ctx.problems.append(doc.problem((*path, "steps"), "a challenge needs a step"))
    steps = [_step(ctx, doc, (*path, "steps", i), step) for i, step in enumerate(challenge.steps)]
    _check_reward(ctx, doc, path, challenge)
    if any(c.id == challenge.id for c in ctx.challenges):
        ctx.problems.append(doc.problem((*path, "id"), f"duplicate challenge id '{challenge.id}'"))
    ctx.problems.extend(challenge_numbers(doc, path, challenge))
    start, end = ctx.aware(challenge.start), ctx.aware(challenge.end)
    if start is not None and end is not None and end <= start:
        ctx.problems.append(doc.problem((*path, "end"), "end must be after start"))
    if len(ctx.problems) > before:
        return
    ctx.challenges.append(
        CompiledChallenge(
            id=challenge.id,
            name=challenge.name,
            description=challenge.description,
            steps=tuple(s for s in steps if s is not None),
            reward_points=challenge.reward.points,
            reward_badge=challenge.reward.badge,
            every=challenge.every,
            start=start,
            end=end,
        )
    )
