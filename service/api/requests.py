"""What route handlers take from a request: what the app's lifespan built (the use cases'
runtime, the settings, the metrics, the credentials, the intake's options and group commit),
the calling member, the actor named in the audit trail; and the one way a write answers 201,
or 200 for a replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from litestar import Request, Response

from service.auth import ApiKeys, MemberPrincipal, MemberTokens
from service.http.access import principal_of
from service.http.app_state import AppState
from service.http.metrics import Metrics
from service.runtime import Runtime
from service.settings import Settings

if TYPE_CHECKING:
    from service.pipeline.grouping import EventGroups
    from service.pipeline.intake import IntakeOptions

__all__ = [
    "actor_of",
    "api_keys_of",
    "app_state_of",
    "created_or_replayed",
    "database_url_of",
    "event_groups_of",
    "intake_options_of",
    "member_of",
    "member_tokens_of",
    "metrics_of",
    "runtime_of",
    "settings_of",
]


class _Replayable(Protocol):
    @property
    def replay(self) -> bool: ...


_R = TypeVar("_R", bound=_Replayable)


def app_state_of(request: Request[Any, Any, Any]) -> AppState:
    """What the app's lifespan built."""
    state: AppState = request.app.state.app
    return state


def runtime_of(request: Request[Any, Any, Any]) -> Runtime:
    """What the use cases run on: the database, the clock, the active ruleset."""
    return app_state_of(request).runtime


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    """The process's settings."""
    return app_state_of(request).settings


def database_url_of(request: Request[Any, Any, Any]) -> str:
    """The database the process runs on (resolved before the app was built)."""
    url = settings_of(request).database_url
    assert url is not None, "the database is resolved before the app is built"
    return url


def api_keys_of(request: Request[Any, Any, Any]) -> ApiKeys:
    """The API key store (cached verification)."""
    return app_state_of(request).api_keys


def metrics_of(request: Request[Any, Any, Any]) -> Metrics:
    """The process's metrics."""
    return app_state_of(request).metrics


def member_tokens_of(request: Request[Any, Any, Any]) -> MemberTokens:
    """The member token signer."""
    return app_state_of(request).member_tokens


def event_groups_of(request: Request[Any, Any, Any]) -> EventGroups[Any, Any] | None:
    """The group commit of single events (None: each is decided alone)."""
    return app_state_of(request).event_groups


def member_of(request: Request[Any, Any, Any]) -> str:
    """The member a member-token-only route was called by (the guard admitted only that)."""
    principal = principal_of(request)
    assert isinstance(principal, MemberPrincipal)
    return principal.member_id


def actor_of(request: Request[Any, Any, Any]) -> str:
    """Who did it, as ledger entries and rule history record: the API key's name, or
    `member:<id>` for a member's own token."""
    principal = principal_of(request)
    if isinstance(principal, MemberPrincipal):
        return f"member:{principal.member_id}"
    return principal.name


def created_or_replayed(result: _R) -> Response[_R]:
    """201 for a new result, 200 when it answers a replay of the first request."""
    return Response(result, status_code=200 if result.replay else 201)


def intake_options_of(request: Request[Any, Any, Any]) -> IntakeOptions:
    """What the event intake takes from the settings, and its metrics."""
    return app_state_of(request).intake_options
