"""Loading a rule file's `referral:`: the program's one referral policy."""

from __future__ import annotations

from service.engine.bounds import referral_numbers
from service.engine.expression_load import compile_condition
from service.engine.files import ReferralDef
from service.engine.load_context import LoadContext
from service.engine.progress_defs import CompiledReferral
from service.engine.yamldoc import YamlDoc

__all__ = ["load_referral"]


def load_referral(ctx: LoadContext, doc: YamlDoc, referral: ReferralDef | None) -> None:
    """Check and compile the referral policy into `ctx.referral` (at most one in all files)."""
    if referral is None:
        return
    if ctx.referral is not None:
        ctx.problems.append(doc.problem(("referral",), "a second 'referral:' section"))
        return
    before = len(ctx.problems)
    if referral.referrer_points < 0 or referral.referee_points < 0:
        ctx.problems.append(doc.problem(("referral",), "referral points must be >= 0"))
    ctx.problems.extend(referral_numbers(doc, referral))
    if referral.max_per_referrer is not None and referral.max_per_referrer <= 0:
        ctx.problems.append(
            doc.problem(("referral", "max_per_referrer"), "max_per_referrer must be positive")
        )
    qualifying = compile_condition(
        ctx, doc, ("referral", "qualifying_purchase"), "purchase", referral.qualifying_purchase
    )
    if len(ctx.problems) > before:
        return
    ctx.referral = CompiledReferral(
        referral.referrer_points,
        referral.referee_points,
        qualifying,
        referral.max_per_referrer,
    )
