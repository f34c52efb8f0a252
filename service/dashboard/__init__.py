"""The program manager's dashboard at `/dashboard`: server-rendered pages over the same use
cases the JSON API calls, signed in with an admin API key, kept out of the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.response import Redirect

from . import (
    backtest_page,
    dry_run_form,
    experiments_page,
    members_page,
    overview,
    rules_page,
    signin,
    static,
)
from .guard import SignInRequired

__all__ = ["dashboard_router"]


def _to_sign_in(_: Request[Any, Any, Any], __: SignInRequired) -> Redirect:
    return Redirect("/dashboard/sign-in", status_code=303)


def dashboard_router() -> Router:
    """Every dashboard route; a page asked for without a valid session redirects to sign-in."""
    return Router(
        path="/",
        route_handlers=[
            *static.ROUTES,
            *signin.ROUTES,
            *overview.ROUTES,
            *rules_page.ROUTES,
            *dry_run_form.ROUTES,
            *backtest_page.ROUTES,
            *members_page.ROUTES,
            *experiments_page.ROUTES,
        ],
        exception_handlers={SignInRequired: _to_sign_in},
        include_in_schema=False,
    )
