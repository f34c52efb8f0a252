"""One operation's working copy of the members it touches: kept if the operation is accepted,
dropped (with everything it logged) if it is refused, so a refused event changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from msgspec.structs import replace

from service.core.ledger import Change, mature
from service.decide.rows import Log
from service.decide.state import MemberState

__all__ = ["StateMissing", "Step"]


class StateMissing(Exception):
    """The decision needs a member (or older tier metric days) that the load did not read.

    Not a refusal: the use case loads what is named and decides the set again."""

    def __init__(self, member_id: str, metric_since: date | None = None) -> None:
        super().__init__(f"state of {member_id} not loaded (metric days since {metric_since})")
        self.member_id = member_id
        self.metric_since = metric_since


class Step:
    """The members one operation reads and changes, the budgets it draws on, and its log."""

    __slots__ = ("_base", "budgets", "changed", "log", "now", "stock")

    def __init__(
        self,
        members: Mapping[str, MemberState],
        budgets: Mapping[str, int],
        now: datetime,
        stock: Mapping[str, int] | None = None,
    ) -> None:
        self._base = members
        self.changed: dict[str, MemberState] = {}
        self.budgets = dict(budgets)
        self.stock = dict(stock or {})
        """Units handed out per stocked reward, as this operation leaves them."""
        self.log = Log()
        self.now = now

    def member(self, member_id: str) -> MemberState:
        """The member as this operation has left them so far."""
        state = self.changed.get(member_id) or self._base.get(member_id)
        if state is None:
            raise StateMissing(member_id)
        return state

    def put(self, state: MemberState) -> MemberState:
        """Record the member's new state; returns it."""
        self.changed[state.member_id] = state
        return state

    def book(self, state: MemberState, change: Change, actor: str | None = None) -> MemberState:
        """Adopt a ledger operation's result: its lots and balances, its entries logged."""
        if change.entries or change.changed:
            self.log.book(state.member_id, state.entries, change.entries, actor)
            state = replace(
                state,
                lots=change.lots,
                balances=change.balances,
                entries=state.entries + len(change.entries),
            )
        return self.put(state)

    def matured(self, state: MemberState) -> MemberState:
        """The member after booking what the clock has done to their lots by now."""
        return self.book(state, mature(state.lots, state.balances, self.now))
