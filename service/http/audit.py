"""The audit log's hook: every non-GET request an admin key makes to a route that needs `admin`
or `keys:manage` is recorded with its answer's status (who, what, when), once the guard has
admitted it (refused credentials never reach a route, so they are not actions). A route that
changes nothing although it is a POST (the dry run) says `audited: False` in its opt."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Message, Scope

from service.auth import ApiKeyPrincipal
from service.operations import keys as key_usecases

__all__ = ["AUDITED_SCOPES", "audit_before_send", "mark_audited"]

AUDITED_SCOPES = frozenset({"admin", "keys:manage"})

_STATE = "audit"
_log = logging.getLogger("service.audit")


class _Pending(msgspec.Struct, frozen=True):
    principal: ApiKeyPrincipal
    action: str
    method: str
    path: str
    params: dict[str, Any]


def mark_audited(
    connection: ASGIConnection[Any, Any, Any, Any],
    handler: BaseRouteHandler,
    principal: ApiKeyPrincipal,
    scope: str | None,
) -> None:
    """Note the request for the audit log when it is an admin action."""
    method = str(connection.scope.get("method", "GET"))
    if scope not in AUDITED_SCOPES or method in ("GET", "HEAD", "OPTIONS"):
        return
    if handler.opt.get("audited") is False:  # a POST that changes nothing (a dry run)
        return
    action = getattr(handler, "operation_id", None)
    connection.scope["state"][_STATE] = _Pending(
        principal=principal,
        action=action if isinstance(action, str) else handler.handler_name,
        method=method,
        path=connection.url.path,
        params={k: str(v) for k, v in connection.path_params.items()},
    )


async def audit_before_send(message: Message, scope: Scope) -> None:
    """Record a noted admin action as its answer starts, with the answer's status."""
    if message["type"] != "http.response.start":
        return
    pending = scope.get("state", {}).pop(_STATE, None)
    if not isinstance(pending, _Pending):
        return
    state = scope["app"].state.app
    try:
        await key_usecases.record(
            state.runtime,
            pending.principal,
            action=pending.action,
            method=pending.method,
            path=pending.path,
            status=int(message["status"]),
            detail=pending.params,
        )
    except Exception:  # the action happened; a lost audit row must be seen, not hide it
        _log.exception("audit log write failed for %s %s", pending.method, pending.path)
