"""One place for HTTP errors: every refusal becomes an RFC 9457 problem document.

Domain errors carry no status; `STATUS` maps each class to one. Framework errors (a body that
does not decode, an unknown route, a body too large) are rewritten to the same shape, with the
field path taken from msgspec's message. Anything unexpected is a bare 500 without a trace.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from service.active_ruleset import NoActiveRuleset
from service.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotBooked,
    NotFound,
    RulesetRefused,
    Unauthenticated,
    Unprocessable,
)
from service.http.request_context import request_id_var
from service.store.database import DatabaseUnavailable

__all__ = [
    "EXCEPTION_HANDLERS",
    "FieldError",
    "Problem",
    "document_problems",
    "problem_response",
    "status_of",
]

logger = logging.getLogger("service.http")

STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Unprocessable: 422,
    NotBooked: 500,
}

_TITLES = {
    400: "Invalid request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Request cannot be processed",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldError(msgspec.Struct, frozen=True):
    """One bad field: its path in the request (e.g. `attributes.amount`) and why."""

    field: str
    reason: str


class Problem(msgspec.Struct, frozen=True, omit_defaults=True):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = None
    code: str | None = None
    errors: list[FieldError] = []


_MAX_ECHO = 300
_MAX_ERRORS = 100


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    """A problem+json response with the request id; echoed input is clipped to a few hundred
    characters, so that a huge bad field name cannot make a huge answer."""
    title = _TITLES.get(status, "Error")
    body = Problem(
        type=f"https://loyalty.example/problems/{code or title.lower().replace(' ', '-')}",
        title=title,
        status=status,
        detail=_clip(detail, 1000),
        request_id=request_id_var.get(),
        code=code,
        errors=[
            FieldError(field=_clip(e.field, _MAX_ECHO), reason=_clip(e.reason, _MAX_ECHO))
            for e in (errors or [])[:_MAX_ERRORS]
        ],
    )
    return Response(
        content=body,
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain error."""
    return next(s for cls, s in STATUS.items() if isinstance(exc, cls))


def _domain(_: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    status = status_of(exc)
    errors = [FieldError(field=exc.field, reason=exc.detail)] if exc.field else None
    if isinstance(exc, RulesetRefused):
        errors = [FieldError(field=where, reason=message) for where, message in exc.errors]
    headers = {"WWW-Authenticate": 'Bearer realm="loyalty"'} if status == 401 else None
    return problem_response(status, exc.detail, errors=errors, code=exc.code, headers=headers)


_AT = re.compile(r"^(?P<reason>.*?)(?: - at (?:`key` in )?`\$(?P<path>[^`]*)`)?$", re.S)
_MISSING_PARAM = re.compile(r"Missing required (?P<kind>\w+) parameter '(?P<name>[^']+)'")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"unknown field `(?P<name>[^`]+)`")


def field_error_from_msgspec(message: str, root: str = "") -> FieldError:
    """Turn msgspec's `Expected int, got str - at $.a[0].b` into field `a[0].b` and a reason."""
    match = _AT.match(message.strip())
    reason, path = (match["reason"], match["path"] or "") if match else (message, "")
    path = path.lstrip(".")
    for pattern in (_MISSING, _UNKNOWN):
        found = pattern.search(reason)
        if found:
            path = f"{path}.{found['name']}" if path else found["name"]
    if root:
        path = f"{root}.{path}" if path else root
    return FieldError(field=path or "body", reason=reason)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        source, key = item.get("source"), str(item.get("key", ""))
        if source == "body" and key and key != "data":
            # litestar already turned msgspec's `$.a[0].b` into `a[0].b`; a missing or unknown
            # field is named in the message, below that path
            errors.append(field_error_from_msgspec(message.split(" - at `")[0], root=key))
        elif source == "body" or key == "data":
            errors.append(field_error_from_msgspec(message))
        else:
            errors.append(FieldError(field=key or "request", reason=message))
    if not errors:
        missing = _MISSING_PARAM.search(str(exc.detail))
        field = missing["name"] if missing else "body"
        reason = f"missing required {missing['kind']} parameter" if missing else str(exc.detail)
        errors.append(FieldError(field=field, reason=reason))
    detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
    return problem_response(400, detail, errors=errors)


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    detail = exc.detail if exc.detail and status < 500 else _TITLES.get(status, "Error")
    return problem_response(status, detail, headers=exc.headers)


def _unavailable(_: Request[Any, Any, Any], exc: DatabaseUnavailable) -> Response[Problem]:
    logger.warning("database unavailable: %s", exc)
    return problem_response(
        503, "the database is unavailable; retry shortly", headers={"Retry-After": "1"}
    )


def _no_ruleset(_: Request[Any, Any, Any], exc: NoActiveRuleset) -> Response[Problem]:
    logger.error("%s", exc)
    return problem_response(503, str(exc), code="no_active_ruleset", headers={"Retry-After": "5"})


def _unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    logger.error("unhandled error", exc_info=exc)
    return problem_response(500, "an unexpected error occurred; it has been logged")


def _too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Problem]:
    # msgspec refuses JSON nested deeper than the interpreter's recursion limit (about 1,000
    # levels) at once, before building anything; that is bad input, not a server error
    if "deserializing" not in str(exc):
        return _unexpected(request, exc)
    return problem_response(
        400,
        "the JSON body is nested too deeply",
        errors=[FieldError(field="body", reason="nested too deeply")],
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain,
    ValidationException: _validation,
    HTTPException: _http,
    DatabaseUnavailable: _unavailable,
    NoActiveRuleset: _no_ruleset,
    RecursionError: _too_deep,
    Exception: _unexpected,
}


def _documented_statuses(handler: HTTPRouteHandler) -> list[int]:
    statuses = [400, 401, 403, 429, 503]
    if any("{" in path for path in handler.paths):
        statuses.append(404)
    if handler.http_methods & {"POST", "PUT", "PATCH"}:
        statuses += [409, 413, 422]
    if "data" in inspect.signature(handler.fn).parameters:
        statuses.append(415)  # a JSON body sent as another media type
    return statuses


def document_problems(handlers: Iterable[HTTPRouteHandler]) -> None:
    """Declare the problem documents the API routes can answer, so the OpenAPI document shows
    `application/problem+json` bodies (not litestar's default error shape)."""
    for handler in handlers:
        responses = dict(handler.responses or {})
        for status in _documented_statuses(handler):
            responses.setdefault(
                status,
                ResponseSpec(
                    data_container=Problem,
                    generate_examples=False,
                    media_type="application/problem+json",
                    description=_TITLES[status],
                ),
            )
        handler.responses = responses
