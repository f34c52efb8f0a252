"""HTML pages from the package's Jinja templates: everything interpolated is escaped, and each
page is sent with headers that keep it out of caches, frames and other sites' scripts."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Response

from .static import static_url

__all__ = ["NAV", "page"]

NAV: Final = (
    ("overview", "/dashboard", "Overview"),
    ("rules", "/dashboard/rules", "Rules"),
    ("members", "/dashboard/members", "Members"),
    ("experiments", "/dashboard/experiments", "Experiments"),
)
"""The navigation: page id, URL, label."""

_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("service.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url, nav=NAV)
    env.filters["num"] = _number
    env.filters["kind"] = _kind
    return env


def _number(value: Any, digits: int = 0) -> str:
    """A number as a person reads it: thousands separated, `digits` decimals."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else str(value)


def _kind(struct: Any) -> str:
    """A tagged struct's tag (an effect's kind: points, badge, ...)."""
    tag = getattr(type(struct), "__struct_config__", None)
    return str(tag.tag) if tag is not None and tag.tag is not None else type(struct).__name__


def page(
    template: str, context: dict[str, Any], *, status_code: int = 200, **headers: str
) -> Response[str]:
    """The template rendered with `context`, as an HTML response."""
    html = _environment().get_template(template).render(**context)
    return Response(
        html,
        status_code=status_code,
        media_type="text/html; charset=utf-8",
        headers={**_HEADERS, **headers},
    )
