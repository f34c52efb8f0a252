"""The dashboard's static files (the chart library, the style sheet, the page script), served
from the package with a year's cache: their URLs carry a digest of their content."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Annotated, Final

from litestar import Response, get
from litestar.params import Parameter

from service.errors import NotFound

__all__ = ["ROUTES", "static_url"]

_TYPES: Final = {
    "chart.umd.js": "text/javascript; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
"""Every file served, and its media type (nothing else in the folder is reachable)."""

_YEAR: Final = 365 * 24 * 3600


@cache
def _content(name: str) -> bytes:
    return (resources.files("service.dashboard") / "static" / name).read_bytes()


@cache
def static_url(name: str) -> str:
    """The URL of a static file, with its content's digest so a new release is fetched anew."""
    digest = hashlib.sha256(_content(name)).hexdigest()[:12]
    return f"/dashboard/static/{name}?v={digest}"


@get(
    "/dashboard/static/{name:str}",
    include_in_schema=False,
    operation_id="dashboardStatic",
)
async def static_file(name: Annotated[str, Parameter(max_length=64)]) -> Response[bytes]:
    """A static file of the dashboard (public: no data in it)."""
    media_type = _TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no static file '{name[:100]}'", field="name")
    return Response(
        _content(name),
        media_type=media_type,
        headers={
            "Cache-Control": f"public, max-age={_YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


ROUTES = [static_file]
