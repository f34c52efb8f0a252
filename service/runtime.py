"""What a use case runs on: the database, the clock, the active ruleset.

Anything else a use case needs (a setting, the metrics, the token signer) it takes as a
parameter of its own, named for what it is; nothing rides along unused."""

from __future__ import annotations

from dataclasses import dataclass

from service.active_ruleset import ActiveRuleset
from service.core.clock import Clock
from service.store.database import Database

__all__ = ["Runtime"]


@dataclass(frozen=True)
class Runtime:
    """What a use case runs on: the database, the clock, the active ruleset."""

    db: Database
    clock: Clock
    rules: ActiveRuleset
