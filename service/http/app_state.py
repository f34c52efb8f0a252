"""What the app's lifespan builds once per process, kept for the HTTP layer (route handlers,
middleware, the dashboard): use cases never see it, they take a `Runtime` and what else they
name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from service.auth import ApiKeys, MemberTokens
from service.http.metrics import Metrics
from service.runtime import Runtime
from service.settings import Settings

if TYPE_CHECKING:
    from service.pipeline.grouping import EventGroups
    from service.pipeline.intake import IntakeOptions

__all__ = ["AppState"]


@dataclass(frozen=True)
class AppState:
    """The process's settings, use case runtime, credentials, metrics, intake options and group
    commit."""

    settings: Settings
    runtime: Runtime
    api_keys: ApiKeys
    member_tokens: MemberTokens
    metrics: Metrics
    intake_options: IntakeOptions
    """What the event intake (and the dry run) take from the settings, and its metrics."""
    event_groups: EventGroups[Any, Any] | None = None
    """Group commit of single events; None: each event is decided alone."""
