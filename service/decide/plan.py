"""What the load must read for a set of events: the periods, windows, ids and days in play.

Pure: computed from the ruleset, the events and `now`, so the load reads in one statement all
that the decision can look at, and nothing that grows with a member's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from service.core.boards import period_key_for
from service.core.challenges import window_key
from service.core.periods import period_key
from service.decide.tiering import local_day, metric_since
from service.engine import Event, Ruleset

__all__ = [
    "LATE_AFTER",
    "STREAK_HISTORY_DAYS",
    "LockPlan",
    "ReadPlan",
    "budgeted_rules",
    "cap_period_keys",
    "challenge_windows",
    "engagement_read",
    "lock_plan",
    "member_plan",
    "reacts_to_levels",
    "read_plan",
    "referral_code",
]

LATE_AFTER = timedelta(hours=1)
"""An event older than this when it is decided is late: what the member had done by its day
is read from the store, since the member's latest events may be younger than it."""

STREAK_HISTORY_DAYS = 400
"""How far back streak units are read, before the earliest event of a set (a day more, for
members whose time zone is ahead of the program's); a streak longer than this shows as this
long."""


def cap_period_keys(ruleset: Ruleset, at: datetime) -> list[str]:
    """The cap periods (in the program's time zone) that an event at `at` counts against."""
    periods = {cap.period for rule in ruleset.rules for cap in rule.caps}
    return sorted(period_key(p, at, ruleset.program.timezone) for p in periods)


def budgeted_rules(ruleset: Ruleset, event_types: Iterable[str] | None = None) -> list[str]:
    """Ids of the rules with a global points budget (on one of `event_types`, if given)."""
    types = None if event_types is None else set(event_types)
    return sorted(
        rule.id
        for rule in ruleset.rules
        if rule.budget is not None and (types is None or rule.on in types)
    )


def challenge_windows(ruleset: Ruleset, at: datetime) -> dict[str, str]:
    """The window of each challenge that an event at `at` falls in (challenge id -> key)."""
    tz = ruleset.program.timezone
    windows: dict[str, str] = {}
    for challenge in ruleset.challenges:
        key = window_key(challenge.every, challenge.start, challenge.end, at, tz)
        if key is not None:
            windows[challenge.id] = key
    return windows


def referral_code(ruleset: Ruleset, event: Event) -> str | None:
    """The referral code an event carries, normalised, if the program has referrals."""
    code = event.attributes.get("referral_code")
    if ruleset.referral is None or not isinstance(code, str) or not code.strip():
        return None
    return code.strip().upper()


class LockPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Whom the load locks: the events' members, the referrers their purchases and refunds may
    pay or take back from, the owners of the codes they carry; and the budget rows in play."""

    members: list[str]
    referees: list[str] = []
    """Members whose events may book their referrer's side of a referral."""
    codes: list[str] = []
    budgets: list[str] = []
    stock: list[str] = []
    """Stocked rewards whose counter rows must exist (a redemption locks them)."""
    skip_locked: bool = False
    """Lock only members nobody else holds, and create none (the worker's passes)."""


def lock_plan(ruleset: Ruleset, events: Sequence[Event], extra: Iterable[str] = ()) -> LockPlan:
    """The lock plan for a set of events (plus `extra` members a first attempt found missing)."""
    members = {e.member_id for e in events} | set(extra)
    referees: set[str] = set()
    codes: set[str] = set()
    if ruleset.referral is not None:
        referees = {e.member_id for e in events if e.type in ("purchase", "refund")}
        codes = {c for e in events if (c := referral_code(ruleset, e)) is not None}
    return LockPlan(
        members=sorted(members),
        referees=sorted(referees),
        codes=sorted(codes),
        budgets=budgeted_rules(ruleset, _types(ruleset, events)),
    )


class ReadPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What the state read reads for the locked members (the same statement for all)."""

    members: list[str]
    metric_since: list[date | None]
    """Per member (aligned with `members`): the first tier metric day to read."""
    tier_metric: str | None
    period_keys: list[str]
    event_ids: list[tuple[str, str]]
    """(member, event id) pairs whose stored events are read (the idempotency check)."""
    order_ids: list[tuple[str, str]]
    """(member, order id) pairs whose orders are read (reuse check, refunds)."""
    challenge_keys: list[str]
    boards: list[str]
    board_periods: list[str]
    streak_since: date | None
    prior_days: list[tuple[str, date]] = []
    """(member, local day) of late events: the member's latest purchase and activity up to
    that day are read (`MemberState.prior`)."""
    referrals: bool
    budgets: list[str]
    holds: bool = False
    """Read the members' held redemptions and the lots they drew from (redemption paths)."""
    redemption_keys: list[tuple[str, str]] = []
    """(member, Idempotency-Key) of redemptions a request may repeat."""
    redemption_ids: list[tuple[str, str]] = []
    reward_counts: list[tuple[str, str]] = []
    """(member, reward): count the member's held and committed redemptions of the reward."""
    adjustment_keys: list[tuple[str, str]] = []
    stock: list[str] = []
    """Stocked rewards whose counters are read and locked."""
    pool: str | None = None
    """A reward whose coupon pool (`pool_codes`) gives one free code, locked for this set."""
    pool_codes: list[str] = []
    engagement_since: date | None = None
    """Read the engagement score's daily metrics (`engagement_metrics`) from this day on."""
    engagement_metrics: list[str] = []


def _types(ruleset: Ruleset, events: Sequence[Event]) -> set[str]:
    """The event types a set may evaluate: its events', and `engagement_changed` if rules
    react to it."""
    types = {e.type for e in events}
    if reacts_to_levels(ruleset):
        types.add("engagement_changed")
    return types


def reacts_to_levels(ruleset: Ruleset) -> bool:
    """Whether a rule reacts to `engagement_changed` (a level move then reads its caps)."""
    return any(rule.on == "engagement_changed" for rule in ruleset.rules)


def engagement_read(ruleset: Ruleset, now: datetime, days: Iterable[date] = ()) -> dict[str, Any]:
    """The `ReadPlan` fields of the engagement score as of now and of the days given: the
    window before the earliest of them."""
    engagement = ruleset.program.engagement
    earliest = min([local_day(now, ruleset.program.timezone), *days])
    return {
        "engagement_since": engagement.since(earliest),
        "engagement_metrics": list(engagement.metrics),
    }


def member_plan(
    ruleset: Ruleset, member_id: str, now: datetime, *, tier: bool = False, **reads: Any
) -> ReadPlan:
    """The read plan of one member's operation (a redemption, an adjustment, a worker pass):
    the ledger, the tier as of now if `tier`, and what `reads` names (`ReadPlan` fields)."""
    tiers = ruleset.program.tiers if tier else None
    fields: dict[str, Any] = {
        "members": [member_id],
        "metric_since": [metric_since(tiers, now) if tiers is not None else None],
        "tier_metric": tiers.metric_key if tiers is not None else None,
        "period_keys": [],
        "event_ids": [],
        "order_ids": [],
        "challenge_keys": [],
        "boards": [],
        "board_periods": [],
        "streak_since": None,
        "referrals": False,
        "budgets": [],
    }
    return ReadPlan(**{**fields, **reads})


def _event_since(ruleset: Ruleset, event: Event, now: datetime) -> date | None:
    tiers = ruleset.program.tiers
    if tiers is None:
        return None
    return metric_since(tiers, now, local_day(event.occurred_at, tiers.timezone))


def read_plan(
    ruleset: Ruleset,
    events: Sequence[Event],
    members: Sequence[str],
    now: datetime,
    *,
    referrer_days: Mapping[str, date] | None = None,
) -> ReadPlan:
    """The read plan for `events` whose `members` are locked; `referrer_days` gives, for a
    member who may be paid or charged as a referrer, the oldest local day their tier metric
    may move on (their referees' purchases)."""
    program = ruleset.program
    tiers = program.tiers
    tz = program.timezone
    since, set_since = _metric_days(ruleset, events, now, referrer_days or {})
    keys, windows = _periods_in_play(ruleset, events, now)
    late = now - LATE_AFTER
    orders = {
        (e.member_id, str(e.attributes["order_id"]))
        for e in events
        if e.type in ("purchase", "refund") and "order_id" in e.attributes
    }
    return ReadPlan(
        members=list(members),
        metric_since=[since.get(m, set_since) for m in members],
        tier_metric=tiers.metric_key if tiers is not None else None,
        period_keys=sorted(keys),
        event_ids=sorted({(e.member_id, e.id) for e in events}),
        order_ids=sorted(orders),
        challenge_keys=sorted(windows),
        boards=sorted({board.id for board in program.leaderboards}),
        board_periods=sorted(
            {
                period_key_for(board.period, event.occurred_at, tz)
                for event in events
                for board in program.leaderboards
            }
        ),
        streak_since=(
            local_day(min([now, *(e.occurred_at for e in events)]), tz)
            - timedelta(days=STREAK_HISTORY_DAYS + 1)
            if ruleset.streaks
            else None
        ),
        prior_days=sorted(
            {(e.member_id, local_day(e.occurred_at, tz)) for e in events if e.occurred_at < late}
        ),
        referrals=ruleset.referral is not None,
        budgets=budgeted_rules(ruleset, _types(ruleset, events)),
        **engagement_read(ruleset, now, (local_day(e.occurred_at, tz) for e in events)),
    )


def _metric_days(
    ruleset: Ruleset,
    events: Sequence[Event],
    now: datetime,
    referrer_days: Mapping[str, date],
) -> tuple[dict[str, date], date | None]:
    """From which local day each member's tier metric is read (and the set's earliest)."""
    tiers = ruleset.program.tiers
    since: dict[str, date] = {}
    if tiers is None:
        return since, None
    set_since = metric_since(tiers, now)
    for event in events:
        day = _event_since(ruleset, event, now)
        assert day is not None
        since[event.member_id] = min(since.get(event.member_id, day), day)
        set_since = min(set_since, day)
    for member_id, day in referrer_days.items():
        needed = min(metric_since(tiers, now, day), set_since)
        since[member_id] = min(since.get(member_id, needed), needed)
    return since, set_since


def _periods_in_play(
    ruleset: Ruleset, events: Sequence[Event], now: datetime
) -> tuple[set[str], set[str]]:
    """The cap period keys and challenge windows the events (and a level move) fall in."""
    keys: set[str] = set()
    windows: set[str] = set()
    moments = [e.occurred_at for e in events]
    if reacts_to_levels(ruleset):
        moments.append(now)  # a level move raises `engagement_changed` at now
    for at in moments:
        keys.update(cap_period_keys(ruleset, at))
        windows.update(challenge_windows(ruleset, at).values())
    return keys, windows


def referrer_days(
    ruleset: Ruleset,
    events: Sequence[Event],
    links: Iterable[tuple[str, str, datetime | None]],
    code_owners: Mapping[str, str],
) -> dict[str, date]:
    """For each member who may be booked as a referrer by these events, the oldest local day
    their tier metric may move on: a referee's purchase (a reward), or the day a reward was
    paid (its reversal). `links` are (referee, referrer, rewarded at) as the lock read them."""
    tiers = ruleset.program.tiers
    if tiers is None or ruleset.referral is None:
        return {}
    tz = tiers.timezone
    first_day: dict[str, date] = {}
    for event in events:
        day = local_day(event.occurred_at, tz)
        first_day[event.member_id] = min(first_day.get(event.member_id, day), day)
    days: dict[str, date] = {}

    def note(member_id: str, day: date) -> None:
        days[member_id] = min(days.get(member_id, day), day)

    for referee, referrer, rewarded_at in links:
        if referee in first_day:
            note(referrer, first_day[referee])
            if rewarded_at is not None:
                note(referrer, local_day(rewarded_at, tz))
    for event in events:
        code = referral_code(ruleset, event)
        if code is not None and code in code_owners:
            note(code_owners[code], local_day(event.occurred_at, tz))
    return days
