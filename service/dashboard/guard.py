"""Who may see the dashboard: a valid session cookie naming an admin key that still exists;
and which forms count: those carrying the session's CSRF token."""

from __future__ import annotations

import secrets
from typing import Any, Final

import msgspec
from litestar import Request

from service.api.requests import api_keys_of, runtime_of
from service.auth import ApiKeyPrincipal
from service.errors import Forbidden
from service.http.audit import mark_audited
from service.store import secrets as secret_store

from .session import COOKIE, Session, csrf_token, csrf_valid, read_session

__all__ = ["SignInRequired", "SignedIn", "dashboard_secret", "form_of", "posted", "signed_in"]

SIGNING_ROW: Final = "dashboard_session_secret"
"""The row of `service_secrets` that signs sessions and CSRF tokens (made on first use, shared
by every replica through the database, like the default member-token secret)."""

_STATE: Final = "dashboard_secret"


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""


class SignedIn(msgspec.Struct, frozen=True):
    """A request with a valid session: its admin key and the CSRF token its forms carry."""

    session: Session
    key: ApiKeyPrincipal
    csrf: str


async def dashboard_secret(request: Request[Any, Any, Any]) -> str:
    """The secret that signs sessions, read (or made) once per process."""
    state = request.app.state
    known = getattr(state, _STATE, None)
    if isinstance(known, str):
        return known
    db = runtime_of(request).db
    async with db.transaction() as conn:
        value = await secret_store.get_or_create_secret(
            conn, SIGNING_ROW, secrets.token_urlsafe(48)
        )
    setattr(state, _STATE, value)
    return value


async def signed_in(request: Request[Any, Any, Any]) -> SignedIn:
    """The session of this request; SignInRequired when there is none, it is forged, tampered
    or over, or its key was revoked or lost the `admin` scope since."""
    secret = await dashboard_secret(request)
    runtime = runtime_of(request)
    session = read_session(secret, request.cookies.get(COOKIE), runtime.clock.now())
    if session is None:
        raise SignInRequired
    key = await api_keys_of(request).by_id(session.key_id)
    if key is None or not key.holds("admin"):
        raise SignInRequired
    return SignedIn(session=session, key=key, csrf=csrf_token(secret, session.cookie))


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted form's text fields (the last of a repeated name wins)."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


async def posted(request: Request[Any, Any, Any]) -> tuple[SignedIn, dict[str, str]]:
    """A signed-in form: its session and fields; 403 without a session or its CSRF token.
    The action goes to the audit log under the session's key, as the same action over the API
    would (unless the route says `audited: False`, as a dry run does)."""
    form = await form_of(request)
    try:
        signed = await signed_in(request)
    except SignInRequired:
        raise Forbidden("sign in to the dashboard first", code="csrf_refused") from None
    secret = await dashboard_secret(request)
    if not csrf_valid(secret, signed.session.cookie, form.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong", code="csrf_refused")
    mark_audited(request, request.route_handler, signed.key, "admin")
    return signed, form
