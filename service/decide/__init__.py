"""The decision step of the pipeline: load, **decide**, save.

Pure: values in, values out. Given a ruleset, the loaded state of a set of members and the
events (or the one member operation) to apply, it returns every answer and every row to write;
no I/O, no clock reads. The same code decides live events, batches and coalesced single posts.
"""

from service.decide.answers import (
    BalancesView,
    ChallengeStep,
    EventResult,
    LotView,
    RuleFailure,
    TierMoveView,
    balances_view,
    move_views,
)
from service.decide.decide import Decision, Missing, decide
from service.decide.event import Prepared
from service.decide.plan import LockPlan, ReadPlan, lock_plan, read_plan, referrer_days
from service.decide.rows import Rows
from service.decide.state import MemberState, SetState

__all__ = [
    "BalancesView",
    "ChallengeStep",
    "Decision",
    "EventResult",
    "LockPlan",
    "LotView",
    "MemberState",
    "Missing",
    "Prepared",
    "ReadPlan",
    "Rows",
    "RuleFailure",
    "SetState",
    "TierMoveView",
    "balances_view",
    "decide",
    "lock_plan",
    "move_views",
    "read_plan",
    "referrer_days",
]
