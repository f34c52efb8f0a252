"""Signing in with an admin API key (pasted once, never stored) and signing out."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.response import Redirect

from service.api.requests import api_keys_of, runtime_of
from service.auth import ApiKeyPrincipal
from service.errors import Forbidden, Unauthenticated
from service.http.audit import mark_audited

from .cookies import cookie, dropped
from .guard import SignInRequired, dashboard_secret, form_of, posted, signed_in
from .render import page
from .session import COOKIE, NONCE_COOKIE, SESSION_TTL, csrf_token, csrf_valid, sign_session

__all__ = ["ROUTES"]

_NONCE_SECONDS: Final = 3600


def _bound(nonce: str) -> str:
    return f"sign-in:{nonce}"


async def _sign_in_page(
    request: Request[Any, Any, Any], error: str | None = None, status_code: int = 200
) -> Response[str]:
    nonce = secrets.token_urlsafe(18)
    csrf = csrf_token(await dashboard_secret(request), _bound(nonce))
    context = {
        "title": "Sign in",
        "csrf": csrf,
        "error": error,
        "hours": SESSION_TTL // timedelta(hours=1),
    }
    response = page("signin.html", context, status_code=status_code)
    response.set_cookie(cookie(request, NONCE_COOKIE, nonce, _NONCE_SECONDS))
    return response


@get("/dashboard/sign-in", include_in_schema=False, operation_id="dashboardSignInPage")
async def sign_in_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The sign-in form (straight to the overview when already signed in)."""
    try:
        await signed_in(request)
    except SignInRequired:
        return await _sign_in_page(request)
    return Redirect("/dashboard", status_code=303)


async def _admin_key(request: Request[Any, Any, Any], token: str) -> ApiKeyPrincipal:
    """The pasted admin key; Unauthenticated or Forbidden saying why not."""
    if not token.startswith("lk_"):
        raise Forbidden("that is not an API key (a member token never opens the dashboard)")
    key = await api_keys_of(request).verify(token)
    if not key.holds("admin"):
        raise Forbidden(f"the key '{key.name}' lacks the admin scope")
    return key


@post("/dashboard/sign-in", include_in_schema=False, operation_id="dashboardSignIn")
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    """Check the pasted key; on success a session cookie and the overview."""
    form = await form_of(request)
    secret = await dashboard_secret(request)
    nonce = request.cookies.get(NONCE_COOKIE)
    if not csrf_valid(secret, _bound(nonce) if nonce else None, form.get("csrf")):
        raise Forbidden("the sign-in form's CSRF token is missing or wrong", code="csrf_refused")
    try:
        key = await _admin_key(request, form.get("api_key", "").strip())
    except (Unauthenticated, Forbidden) as refused:
        return await _sign_in_page(request, f"Not signed in: {refused.detail}.", 403)
    mark_audited(request, request.route_handler, key, "admin")  # who opened a session, when
    session = sign_session(secret, key.key_id, runtime_of(request).clock.now())
    return Redirect(
        "/dashboard",
        status_code=303,
        cookies=[
            cookie(request, COOKIE, session.cookie, int(SESSION_TTL.total_seconds())),
            dropped(request, NONCE_COOKIE),
        ],
    )


@post("/dashboard/sign-out", include_in_schema=False, operation_id="dashboardSignOut")
async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session in this browser and go back to the sign-in page."""
    await posted(request)
    return Redirect("/dashboard/sign-in", status_code=303, cookies=[dropped(request, COOKIE)])


ROUTES = [sign_in_page, sign_in, sign_out]
