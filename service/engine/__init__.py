"""The rules engine: rule files in, a ruleset out; an event and a member snapshot in, effects out.

Pure: no I/O except reading rule files in `load_ruleset`, no clock reads (`now` is a parameter).
"""

from service.engine.effects import (
    AttributeEffect,
    BadgeEffect,
    ChallengeEffect,
    Effect,
    Evaluation,
    PointsEffect,
    ReferralEffect,
    Skip,
    SkipReason,
    StreakEffect,
    UsageIncrement,
)
from service.engine.evaluate import evaluate
from service.engine.events import Event, InvalidEvent, validate_event_attributes
from service.engine.loader import load_ruleset, load_ruleset_from_files
from service.engine.problems import Problem, RulesetInvalid
from service.engine.ruleset import Ruleset
from service.engine.snapshot import (
    EngagementView,
    MemberCounters,
    MemberSnapshot,
    ReferralLink,
    RuleUsage,
    StreakHistory,
    usage_key,
)
from service.engine.testing import TestResult, check_command, run_rule_tests, test_command

__all__ = [
    "AttributeEffect",
    "BadgeEffect",
    "ChallengeEffect",
    "Effect",
    "EngagementView",
    "Evaluation",
    "Event",
    "InvalidEvent",
    "MemberCounters",
    "MemberSnapshot",
    "PointsEffect",
    "Problem",
    "ReferralEffect",
    "ReferralLink",
    "RuleUsage",
    "Ruleset",
    "RulesetInvalid",
    "Skip",
    "SkipReason",
    "StreakEffect",
    "StreakHistory",
    "TestResult",
    "UsageIncrement",
    "check_command",
    "evaluate",
    "load_ruleset",
    "load_ruleset_from_files",
    "run_rule_tests",
    "test_command",
    "usage_key",
    "validate_event_attributes",
]
