"""API keys over HTTP and the audit log: a key holding `keys:manage` (or `admin`) creates keys
with no scope it lacks itself (the secret is answered once, only its hash is stored), lists
them (never a secret or hash) and revokes them; every admin action is recorded (who, what,
when) and readable by admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from service.auth import SCOPES, ApiKeyPrincipal, IssuedKey, generate_key
from service.core.cursors import position_before
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.runtime import Runtime
from service.store import audit as audit_store
from service.store import keys as key_store
from service.store.database import Connection
from service.store.keys import StoredKey

__all__ = [
    "AuditEntry",
    "AuditPage",
    "CreatedKey",
    "KeyIn",
    "KeyList",
    "KeyView",
    "audit_page",
    "create_key",
    "list_keys",
    "record",
    "revoke_key",
    "store_key",
]

KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@+\- ]{0,63}(?!\n)$"


class KeyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A key to create: a unique name (who or what uses it) and its scopes."""

    name: Annotated[str, msgspec.Meta(pattern=KEY_NAME_PATTERN)]
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, max_length=len(SCOPES))]


class KeyView(msgspec.Struct, kw_only=True):
    """A key as listed: never its secret."""

    key_id: str
    name: str
    scopes: list[str]
    created_at: datetime
    created_by: str | None
    """The name of the key that created it (None: made with `loyalty keys create`)."""
    last_used_at: datetime | None
    """When it was last used, to the minute (None: never)."""
    revoked_at: datetime | None


class CreatedKey(KeyView, kw_only=True):
    """A new key and its secret, shown this once: store it now, it cannot be read again."""

    token: str


class KeyList(msgspec.Struct, kw_only=True):
    """Every key, oldest first (revoked ones with `revoked_at`)."""

    keys: list[KeyView]


def _check_grant(creator: ApiKeyPrincipal, scopes: list[str]) -> None:
    for index, scope in enumerate(scopes):
        if scope not in SCOPES:
            raise InvalidInput(
                f"unknown scope '{scope}'; choose from {', '.join(SCOPES)}",
                field=f"scopes[{index}]",
            )
    lacking = sorted(s for s in set(scopes) if not creator.holds(s))
    if lacking:
        raise Forbidden(
            f"a key cannot grant scopes its creator lacks: {', '.join(lacking)}",
            code="scope_not_held",
        )


async def store_key(conn: Connection, issued: IssuedKey, created_by: str | None) -> None:
    """Store a newly issued key (its secret only as a hash), in the caller's transaction;
    Conflict naming `name` when a key of that name exists (`loyalty keys create` too)."""
    if any(key.name == issued.name for key in await key_store.list_keys(conn)):
        raise Conflict(f"a key named '{issued.name}' exists already", field="name")
    await key_store.insert_key(
        conn,
        key_id=issued.key_id,
        name=issued.name,
        secret_hash=issued.secret_hash,
        scopes=issued.scopes,
        created_by=created_by,
    )


async def create_key(runtime: Runtime, creator: ApiKeyPrincipal, body: KeyIn) -> CreatedKey:
    """Store a new key with `body.scopes` (each held by `creator`); its token is answered once."""
    _check_grant(creator, body.scopes)
    issued = generate_key(body.name, body.scopes)
    async with runtime.db.transaction() as conn:
        await store_key(conn, issued, creator.name)
        rows = await key_store.list_keys(conn)
    key = next(k for k in rows if k.key_id == issued.key_id)
    return CreatedKey(**msgspec.structs.asdict(_view(key)), token=issued.token)


def _view(key: StoredKey) -> KeyView:
    return msgspec.convert(msgspec.structs.asdict(key), KeyView)


async def list_keys(runtime: Runtime) -> KeyList:
    """Every key, oldest first, without secrets."""
    async with runtime.db.connection() as conn:
        rows = await key_store.list_keys(conn)
    return KeyList(keys=[_view(k) for k in rows])


async def revoke_key(runtime: Runtime, revoker: ApiKeyPrincipal, key_id: str) -> KeyView:
    """Revoke a key holding no scope the revoker lacks; NotFound for no such active key."""
    async with runtime.db.transaction() as conn:
        key = next((k for k in await key_store.list_keys(conn) if k.key_id == key_id), None)
        if key is None or key.revoked_at is not None:
            raise NotFound(f"no active key '{key_id}'", field="key_id")
        lacking = sorted(s for s in key.scopes if not revoker.holds(s))
        if lacking:
            raise Forbidden(
                f"a key cannot revoke a key holding scopes it lacks: {', '.join(lacking)}",
                code="scope_not_held",
            )
        await key_store.revoke_key_id(conn, key_id)
        rows = await key_store.list_keys(conn)
    return _view(next(k for k in rows if k.key_id == key_id))


class AuditEntry(msgspec.Struct, kw_only=True):
    """One admin action: who (the key's name and id), what (the operation, method, path and
    status, and what it named), when."""

    id: int
    at: datetime
    actor: str
    key_id: str | None
    action: str
    method: str
    path: str
    status: int
    detail: dict[str, Any]


class AuditPage(msgspec.Struct, kw_only=True):
    """Actions newest first; pass `next_cursor` as `cursor` for older ones."""

    entries: list[AuditEntry]
    next_cursor: str | None


async def record(
    runtime: Runtime,
    principal: ApiKeyPrincipal,
    *,
    action: str,
    method: str,
    path: str,
    status: int,
    detail: dict[str, Any],
) -> None:
    """Append one admin action to the audit log."""
    async with runtime.db.connection() as conn:
        await audit_store.append(
            conn,
            actor=principal.name,
            key_id=principal.key_id,
            action=action,
            method=method,
            path=path,
            status=status,
            detail=detail,
        )


async def audit_page(runtime: Runtime, limit: int, cursor: str | None) -> AuditPage:
    """A page of the audit log, newest first."""
    before = position_before(cursor)
    async with runtime.db.connection() as conn:
        rows = await audit_store.page(conn, before, limit + 1)
    entries = [AuditEntry(**msgspec.structs.asdict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(entries=entries, next_cursor=str(entries[-1].id) if more else None)
