"""What every request handler may use, built once per process by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.active_ruleset import ActiveRuleset
from service.auth import ApiKeys, MemberTokens
from service.core.clock import Clock
from service.http.metrics import Metrics
from service.settings import Settings
from service.store.database import Database

__all__ = ["Services"]


@dataclass
class Services:
    """The process's settings, database pool, credentials, clock, metrics and ruleset."""

    settings: Settings
    db: Database
    api_keys: ApiKeys
    member_tokens: MemberTokens
    clock: Clock
    metrics: Metrics
    rules: ActiveRuleset
    event_groups: Any = None
    """Group commit of single events (`pipeline.grouping.EventGroups`); None: each alone."""
