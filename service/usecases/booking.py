"""A member's ledger book for redemptions, holds, adjustments and the worker."""

from __future__ import annotations

from datetime import datetime

from service.core.ledger import Change, Entry, ExpiryPolicy, Lot, mature
from service.decide.answers import BalancesView, balances_view
from service.decide.rows import next_maturity
from service.engine import Ruleset
from service.store import ledger as ledger_store
from service.store.database import Connection
from service.store.ledger import MemberState

__all__ = ["BalancesView", "Ledgerbook", "balances_view", "next_maturity"]


class Ledgerbook:
    """Chains core operations on one member's lots, keeping what to write."""

    def __init__(self, state: MemberState, now: datetime) -> None:
        self.lots = state.lots
        self.balances = state.balances
        self.first_no = state.entries
        self.entries: list[Entry] = []
        self.changed: dict[str, Lot] = {}
        self.take(mature(self.lots, self.balances, now))

    def take(self, change: Change) -> None:
        """Adopt a core operation's result."""
        self.lots = change.lots
        self.balances = change.balances
        self.entries.extend(change.entries)
        self.changed.update({lot.lot_id: lot for lot in change.changed})

    async def write(self, conn: Connection, member_id: str, actor: str | None = None) -> None:
        """Write changed lots, the new entries and the balances row (one round trip); nothing
        when nothing changed (an event that earns nothing, a replayed redemption)."""
        if not self.entries and not self.changed:
            return
        await ledger_store.save_book(
            conn,
            member_id,
            list(self.changed.values()),
            self.first_no,
            self.entries,
            self.balances,
            next_maturity(self.lots),
            actor,
        )


def _policy(ruleset: Ruleset) -> ExpiryPolicy:
    expiry = ruleset.program.points.expiry
    return ExpiryPolicy(kind=expiry.kind, days=expiry.days or 0)
