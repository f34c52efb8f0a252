"""The dashboard's session cookie and CSRF tokens: HMAC-SHA256 signatures, nothing stored.

A session names the admin API key that signed in and when the session ends:
`<key id>.<expires, unix seconds>.<signature>`, the signature an HMAC-SHA256 of the first two
parts under the dashboard's secret. The key itself is never kept; each request checks that the
key it names still exists, unrevoked, with the `admin` scope. A form's CSRF token is an HMAC of
the session's cookie value (signed-in forms) or of a random nonce the sign-in page also sets
as a cookie (the sign-in form), so a page of another site can neither read nor forge one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta
from typing import Final

import msgspec

__all__ = [
    "COOKIE",
    "NONCE_COOKIE",
    "SESSION_TTL",
    "Session",
    "csrf_token",
    "csrf_valid",
    "read_session",
    "sign_session",
]

COOKIE: Final = "loyalty_dashboard"
"""The session cookie's name."""

NONCE_COOKIE: Final = "loyalty_dashboard_signin"
"""The sign-in form's nonce cookie (its CSRF token is an HMAC of it)."""

SESSION_TTL: Final = timedelta(hours=8)
"""How long a session lasts: one working day, then sign in again."""

_KEY_ID = re.compile(r"^[0-9a-f]{1,64}$")


class Session(msgspec.Struct, frozen=True):
    """A valid session: the admin key it was opened with, and when it ends."""

    key_id: str
    expires_at: int
    """Unix seconds."""
    cookie: str
    """The cookie's value (CSRF tokens of this session are signed over it)."""


def _mac(secret: str, purpose: str, message: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}\n{message}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_session(secret: str, key_id: str, now: datetime) -> Session:
    """A new session for `key_id`, ending `SESSION_TTL` after `now`."""
    if not _KEY_ID.match(key_id):
        raise ValueError(f"not a key id: {key_id!r}")
    expires = int((now + SESSION_TTL).timestamp())
    body = f"{key_id}.{expires}"
    return Session(key_id, expires, f"{body}.{_mac(secret, 'session', body)}")


def read_session(secret: str, cookie: str | None, now: datetime) -> Session | None:
    """The session a cookie proves, or None: missing, malformed, forged, tampered or ended."""
    if not cookie or len(cookie) > 200:
        return None
    parts = cookie.split(".")
    if len(parts) != 3 or not _KEY_ID.match(parts[0]) or not parts[1].isdigit():
        return None
    key_id, expires, signature = parts
    expected = _mac(secret, "session", f"{key_id}.{expires}")
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    if int(expires) <= now.timestamp():
        return None
    return Session(key_id, int(expires), cookie)


def csrf_token(secret: str, bound_to: str) -> str:
    """The CSRF token of forms sent under `bound_to` (a session's cookie, or a nonce)."""
    return _mac(secret, "csrf", bound_to)


def csrf_valid(secret: str, bound_to: str | None, token: str | None) -> bool:
    """Whether `token` is the CSRF token for `bound_to` (both must be present)."""
    if not bound_to or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, bound_to).encode(), token.encode())
