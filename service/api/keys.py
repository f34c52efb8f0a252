"""API keys over HTTP (scope `keys:manage`, or `admin`) and the audit log (scope `admin`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.params import JSONBody, Parameter

from service.api.requests import runtime_of
from service.auth import ApiKeyPrincipal
from service.http.access import api_key, principal_of
from service.operations import keys
from service.operations.keys import AuditPage, CreatedKey, KeyIn, KeyList, KeyView

__all__ = ["ROUTES"]


def _key(request: Request[Any, Any, Any]) -> ApiKeyPrincipal:
    principal = principal_of(request)
    assert isinstance(principal, ApiKeyPrincipal)
    return principal


@post(
    "/v1/admin/keys",
    operation_id="createKey",
    opt=api_key("keys:manage"),
    tags=["admin"],
    summary="Create an API key (its secret is answered once)",
    status_code=201,
)
async def create_key(request: Request[Any, Any, Any], data: JSONBody[KeyIn]) -> CreatedKey:
    """Scope `keys:manage` (or `admin`). The new key may hold only scopes the calling key
    holds (403 `scope_not_held`); `token` is shown in this answer only."""
    return await keys.create_key(runtime_of(request), _key(request), data)


@get(
    "/v1/admin/keys",
    operation_id="listKeys",
    opt=api_key("keys:manage"),
    tags=["admin"],
    summary="Every API key: name, scopes, created, last used (never a secret)",
)
async def list_keys(request: Request[Any, Any, Any]) -> KeyList:
    """Scope `keys:manage` (or `admin`)."""
    return await keys.list_keys(runtime_of(request))


KeyId = Annotated[str, Parameter(min_length=1, max_length=32, description="The key's id.")]


@delete(
    "/v1/admin/keys/{key_id:str}",
    operation_id="revokeKey",
    opt=api_key("keys:manage"),
    tags=["admin"],
    summary="Revoke an API key",
    status_code=200,
)
async def revoke_key(request: Request[Any, Any, Any], key_id: KeyId) -> KeyView:
    """Scope `keys:manage` (or `admin`); a key holding a scope the caller lacks cannot be
    revoked by it (403). Replicas stop accepting it within the key cache time."""
    return await keys.revoke_key(runtime_of(request), _key(request), key_id)


@get(
    "/v1/admin/audit",
    operation_id="listAuditLog",
    opt=api_key("admin"),
    tags=["admin"],
    summary="The audit log: every admin action (who, what, when), newest first",
)
async def get_audit(
    request: Request[Any, Any, Any],
    limit: Annotated[int, Parameter(ge=1, le=200, description="entries per page (<= 200)")] = 50,
    cursor: Annotated[
        str | None, Parameter(max_length=32, description="next_cursor of the previous page")
    ] = None,
) -> AuditPage:
    """Scope `admin`."""
    return await keys.audit_page(runtime_of(request), limit, cursor)


ROUTES = [create_key, list_keys, revoke_key, get_audit]
