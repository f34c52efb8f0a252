"""The program's points policy as the core's ledger takes it."""

from __future__ import annotations

from service.core.lots import ExpiryPolicy
from service.engine import Ruleset

__all__ = ["expiry_policy"]


def expiry_policy(ruleset: Ruleset) -> ExpiryPolicy:
    """When the program's lots expire (`points.expiry` in program.yaml)."""
    expiry = ruleset.program.points.expiry
    return ExpiryPolicy(kind=expiry.kind, days=expiry.days or 0)
