"""The dashboard's cookies: HttpOnly, SameSite=Strict, on `/dashboard` only, and Secure when
the page came over https (directly or through a proxy that says so)."""

from __future__ import annotations

from typing import Any, Final

from litestar import Request
from litestar.datastructures import Cookie

__all__ = ["PATH", "cookie", "dropped"]

PATH: Final = "/dashboard"


def _https(request: Request[Any, Any, Any]) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def cookie(request: Request[Any, Any, Any], name: str, value: str, max_age: int) -> Cookie:
    """A dashboard cookie holding `value` for `max_age` seconds."""
    return Cookie(
        key=name,
        value=value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=_https(request),
    )


def dropped(request: Request[Any, Any, Any], name: str) -> Cookie:
    """The same cookie, emptied and expired (the browser forgets it)."""
    return cookie(request, name, "", 0)
