"""Domain errors: what a use case can refuse. They carry no HTTP status; `service.http.problems`
maps each class to one status in one table."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "Unauthenticated",
    "Unprocessable",
]


class DomainError(Exception):
    """Base of every expected refusal; `detail` is safe to show to the caller."""

    title = "Request refused"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code


class InvalidInput(DomainError):
    """The request is malformed: a field has the wrong shape or type."""

    title = "Invalid request"


class Unprocessable(DomainError):
    """The request is well-formed but breaks a rule of the program (e.g. refund > purchase)."""

    title = "Request cannot be processed"


class NotFound(DomainError):
    """The named resource does not exist."""

    title = "Not found"


class Conflict(DomainError):
    """The request conflicts with what is stored (e.g. same event id, different body)."""

    title = "Conflict"


class Unauthenticated(DomainError):
    """No credentials, or credentials that are not valid (unknown, revoked, expired, tampered)."""

    title = "Unauthenticated"


class Forbidden(DomainError):
    """Valid credentials that may not do this (wrong scope or another member)."""

    title = "Forbidden"
