"""Credentials: API keys with scopes for servers, signed member tokens for phones.

An API key reads `lk_<key id>_<secret>`; only a SHA-256 of the 256-bit random secret is stored
(a slow password hash buys nothing against a secret that cannot be guessed). A member token is
a JWT (HS256) naming one member, signed with the first of the configured secrets and accepted
with any of them, so a secret can be rotated without logging every phone out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt
import msgspec

from service.errors import Forbidden, Unauthenticated
from service.store import keys as key_store
from service.store.database import Database

__all__ = [
    "SCOPES",
    "ApiKeyPrincipal",
    "ApiKeys",
    "IssuedKey",
    "MemberPrincipal",
    "MemberTokens",
    "Principal",
    "generate_key",
]

SCOPES: Final = (
    "events:write",
    "members:read",
    "members:write",
    "members:token",
    "redemptions:write",
    "keys:manage",
    "admin",
)
"""Every scope a key can hold; `admin` implies all the others. `keys:manage` creates, lists
and revokes keys holding no scope its holder lacks."""


LAST_USED_PRECISION: Final = timedelta(minutes=1)
"""A key's `last_used_at` is written at most this often (not on every request)."""


class ApiKeyPrincipal(msgspec.Struct, frozen=True):
    """A caller authenticated by an API key."""

    key_id: str
    name: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        """Raise Forbidden unless this key holds `scope` (or `admin`)."""
        if not self.holds(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", code="missing_scope")

    def holds(self, scope: str) -> bool:
        """Whether this key holds `scope` (`admin` holds every scope)."""
        return scope in self.scopes or "admin" in self.scopes


class MemberPrincipal(msgspec.Struct, frozen=True):
    """A member's app, authenticated by a member token."""

    member_id: str
    expires_at: datetime


Principal = ApiKeyPrincipal | MemberPrincipal


class IssuedKey(msgspec.Struct, frozen=True):
    """A newly created key: `token` is shown once and never stored."""

    key_id: str
    name: str
    scopes: list[str]
    token: str
    secret_hash: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(name: str, scopes: list[str]) -> IssuedKey:
    """Make a new key's id, secret and hash (the caller stores it)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown scope(s) {unknown}; choose from {', '.join(SCOPES)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(
        key_id=key_id,
        name=name,
        scopes=sorted(set(scopes)),
        token=f"lk_{key_id}_{secret}",
        secret_hash=_hash(secret),
    )


class ApiKeys:
    """Verifies API keys against the database, trusting a verified key for a few seconds."""

    def __init__(self, db: Database, cache_seconds: float = 10.0) -> None:
        self._db = db
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKeyPrincipal]] = {}

    async def verify(self, token: str) -> ApiKeyPrincipal:
        """The key's principal, or Unauthenticated for a malformed, unknown or revoked key."""
        cached = self._cache.get(token)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "lk" or not parts[1] or not parts[2]:
            raise Unauthenticated("malformed API key")
        async with self._db.connection() as conn:
            key = await key_store.fetch_key(conn, parts[1])
            if key is None or not hmac.compare_digest(key.secret_hash, _hash(parts[2])):
                raise Unauthenticated("unknown or revoked API key")
            used = key.last_used_at
            if used is None or used < datetime.now(UTC) - LAST_USED_PRECISION:
                await key_store.mark_used(conn, key.key_id)
        principal = _principal(key)
        if self._cache_seconds > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + self._cache_seconds, principal)
        return principal

    async def by_id(self, key_id: str) -> ApiKeyPrincipal | None:
        """The key with this id as stored now (never cached), or None when it is unknown or
        revoked: for a session that outlives the request that proved the key's secret."""
        async with self._db.connection() as conn:
            key = await key_store.fetch_key(conn, key_id)
        return None if key is None else _principal(key)


def _principal(key: key_store.ActiveKey) -> ApiKeyPrincipal:
    return ApiKeyPrincipal(key_id=key.key_id, name=key.name, scopes=frozenset(key.scopes))


class MemberTokens:
    """Mints and checks member tokens (JWT, HS256) with rotatable secrets."""

    ALGORITHM: Final = "HS256"

    _CACHE_LIMIT: Final = 10_000

    def __init__(self, secrets_: list[str], ttl_seconds: int) -> None:
        if not secrets_:
            raise ValueError("at least one member-token secret is needed")
        self._secrets = secrets_
        self._ttl = ttl_seconds
        # A token's signature is checked once per process (a phone sends the same token on
        # every screen); its expiry is checked on every use.
        self._verified: dict[str, MemberPrincipal] = {}

    def mint(self, member_id: str, now: datetime) -> tuple[str, datetime]:
        """A signed token for `member_id` and the moment it expires."""
        expires = now + timedelta(seconds=self._ttl)
        claims = {
            "sub": member_id,
            "typ": "member",
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        token = jwt.encode(claims, self._secrets[0], algorithm=self.ALGORITHM)
        return token, expires.replace(microsecond=0)

    def verify(self, token: str, now: datetime) -> MemberPrincipal:
        """The member a valid token names; Unauthenticated when expired, tampered or foreign."""
        principal = self._verified.get(token)
        if principal is None:
            principal = self._check_signature(token)
            if len(self._verified) >= self._CACHE_LIMIT:
                self._verified.clear()
            self._verified[token] = principal
        if principal.expires_at <= now:
            raise Unauthenticated("member token expired", code="token_expired")
        return principal

    def _check_signature(self, token: str) -> MemberPrincipal:
        for secret in self._secrets:
            try:
                claims = jwt.decode(
                    token,
                    secret,
                    algorithms=[self.ALGORITHM],
                    options={"require": ["exp", "sub", "typ"], "verify_exp": False},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                raise Unauthenticated("malformed member token") from None
            if claims.get("typ") != "member" or not isinstance(claims.get("sub"), str):
                raise Unauthenticated("not a member token")
            expires = datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
            return MemberPrincipal(member_id=claims["sub"], expires_at=expires)
        raise Unauthenticated("member token signature does not match")
