"""What route handlers take from a request: the services, the calling member, the actor named in
the audit trail; and the one way a write answers 201, or 200 for a replay."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from litestar import Request, Response

from service.auth import MemberPrincipal
from service.http.access import principal_of
from service.services import Services

__all__ = ["actor_of", "created_or_replayed", "member_of", "services_of"]


class _Replayable(Protocol):
    @property
    def replay(self) -> bool: ...


_R = TypeVar("_R", bound=_Replayable)


def services_of(request: Request[Any, Any, Any]) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


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
