"""Loading a rule's `experiment:`: the holdout share, the variants, each problem positioned."""

from __future__ import annotations

import re

from service.core.experiments import BUCKETS, HOLDOUT, Experiment, Variant
from service.engine.files import RuleDef
from service.engine.load_context import LoadContext
from service.engine.yamldoc import Path, YamlDoc

__all__ = ["load_experiment"]

_PERCENT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def _basis_points(value: str | float) -> int | None:
    """ "10%" (or 10) as 1000 basis points; None when it is not a percentage."""
    if isinstance(value, str):
        found = _PERCENT.fullmatch(value)
        if found is None:
            return None
        value = float(found.group(1))
    bp = round(float(value) * 100)
    return bp if abs(bp - float(value) * 100) < 1e-6 else None


def load_experiment(ctx: LoadContext, doc: YamlDoc, path: Path, rule: RuleDef) -> Experiment | None:
    """The rule's experiment (None without one, or when refused: `ctx.problems` says why)."""
    e = rule.experiment
    if e is None:
        return None
    here: Path = (*path, "experiment")
    problems = ctx.problems
    before = len(problems)
    if not _ID.fullmatch(e.id):
        problems.append(
            doc.problem((*here, "id"), "an experiment id is 1-64 letters, digits, _.:-")
        )
    holdout = _basis_points(e.holdout)
    if holdout is None or not 0 <= holdout < BUCKETS:
        problems.append(
            doc.problem((*here, "holdout"), "holdout is a percentage from 0% to under 100%")
        )
        holdout = 0
    variants = e.variants or {}
    has_points = any(a.points is not None for a in rule.actions)
    if variants and not has_points:
        problems.append(doc.problem((*here, "variants"), "variants give points: the rule has none"))
    for name, points in variants.items():
        if name == HOLDOUT or not _ID.fullmatch(name):
            problems.append(
                doc.problem((*here, "variants", name), f"'{name}' cannot name a variant", key=True)
            )
        if points < 0:
            problems.append(doc.problem((*here, "variants", name), "points must be >= 0"))
    if not variants and holdout == 0:
        problems.append(doc.problem(here, "an experiment needs a holdout above 0% or two variants"))
    if len(variants) == 1:
        problems.append(doc.problem((*here, "variants"), "give two variants or none"))
    if len(problems) > before:
        return None
    names = list(variants) or ["treatment"]
    rest = BUCKETS - holdout
    shares = [rest // len(names)] * len(names)
    shares[-1] += rest - sum(shares)
    return Experiment(
        id=e.id,
        holdout_bp=holdout,
        variants=tuple(
            Variant(name, share, variants.get(name))
            for name, share in zip(names, shares, strict=True)
        ),
    )
