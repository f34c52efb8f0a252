"""Who may call what: each route declares an `Access` in its `opt`; one guard enforces it.

Missing or invalid credentials: 401. Valid credentials with the wrong scope, or a member token
reaching another member: 403. A route without a declared access is a programming error.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from service.auth import ApiKeyPrincipal, ApiKeys, MemberPrincipal, MemberTokens, Principal
from service.core.clock import Clock
from service.errors import Forbidden, Unauthenticated
from service.http.app_state import AppState
from service.http.audit import mark_audited

__all__ = [
    "VERIFIED",
    "Access",
    "access_guard",
    "any_credential",
    "api_key",
    "key_or_any_member",
    "member_or_key",
    "member_token",
    "principal_of",
    "verify_credential",
    "verify_in_app",
]


class Access(msgspec.Struct, frozen=True):
    """A route's policy: an API key scope, and whether a member token may (or must) be used."""

    scope: str | None = None
    member_param: str | None = None
    """Path parameter naming the member; a token for that member is accepted."""
    member_only: bool = False
    """Only member tokens (the /v1/me routes)."""
    any_member: bool = False
    """Any member's token is accepted too (routes that show nothing member-specific)."""


def api_key(scope: str) -> dict[str, Any]:
    """Route opt: an API key holding `scope`."""
    return {"access": Access(scope=scope)}


def member_or_key(scope: str, member_param: str = "member_id") -> dict[str, Any]:
    """Route opt: an API key holding `scope`, or that member's own token."""
    return {"access": Access(scope=scope, member_param=member_param)}


def member_token() -> dict[str, Any]:
    """Route opt: a member token only."""
    return {"access": Access(member_only=True)}


def key_or_any_member(scope: str) -> dict[str, Any]:
    """Route opt: an API key holding `scope`, or any member's token (public boards)."""
    return {"access": Access(scope=scope, any_member=True)}


def any_credential() -> dict[str, Any]:
    """Route opt: any valid API key (whatever its scopes) or any member token."""
    return {"access": Access(any_member=True)}


async def verify_credential(
    credential: str, *, api_keys: ApiKeys, member_tokens: MemberTokens, clock: Clock
) -> Principal:
    """The principal a bearer credential proves (an API key or a member token);
    Unauthenticated when it proves none."""
    if credential.startswith("lk_"):
        return await api_keys.verify(credential)
    return member_tokens.verify(credential, clock.now())


async def verify_in_app(state: AppState, credential: str) -> Principal:
    """`verify_credential` with the app's API keys, token signer and clock."""
    return await verify_credential(
        credential,
        api_keys=state.api_keys,
        member_tokens=state.member_tokens,
        clock=state.runtime.clock,
    )


VERIFIED = "verified_principal"
"""Scope state: the principal (or the refusal, or the failure to check) the rate limiter
already got for this request's credential, so that it is verified once."""


async def _authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    known = connection.scope["state"].get(VERIFIED)
    if isinstance(known, ApiKeyPrincipal | MemberPrincipal):
        return known
    if isinstance(known, Exception):  # the refusal, or the failure, the limiter got
        raise known
    header = connection.headers.get("authorization")
    if not header:
        raise Unauthenticated("missing Authorization: Bearer credentials")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise Unauthenticated("expected Authorization: Bearer <API key or member token>")
    return await verify_in_app(connection.app.state.app, credential)


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Authenticate the caller and check the route's declared access."""
    access = handler.opt.get("access")
    if access is None and getattr(handler, "http_methods", None) == {"OPTIONS"}:
        return  # litestar's automatic OPTIONS answer: the allowed methods, nothing else
    if not isinstance(access, Access):
        raise AssertionError(f"route {handler} declares no access policy")
    principal = await _authenticate(connection)
    if isinstance(principal, MemberPrincipal):
        if access.member_only or access.any_member:
            pass
        elif access.member_param is None:
            raise Forbidden("a member token cannot use this route", code="member_token_refused")
        elif connection.path_params.get(access.member_param) != principal.member_id:
            raise Forbidden("a member token can only reach its own member", code="other_member")
    else:
        if access.member_only:
            raise Forbidden("this route needs a member token", code="member_token_required")
        if access.scope is not None:
            principal.require(access.scope)
        mark_audited(connection, handler, principal, access.scope)
    connection.scope["state"]["principal"] = principal


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal the guard authenticated for this request."""
    principal = connection.scope["state"].get("principal")
    if not isinstance(principal, ApiKeyPrincipal | MemberPrincipal):
        raise AssertionError("no authenticated principal: is the route guarded?")
    return principal
