"""Domain errors: what a use case can refuse. They carry no HTTP status; `service.http.problems`
maps each class to one status in one table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.engine.problems import Problem

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotBooked",
    "NotFound",
    "RulesetRefused",
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


class RulesetRefused(Unprocessable):
    """A published ruleset has problems; the version in force stays active.

    `errors` lists every problem as (`file:line:col`, message), in file order."""

    title = "Ruleset refused"

    def __init__(self, problems: Iterable[Problem], *, active_version: str | None = None):
        self.problems = sorted(problems)
        self.errors = [
            (f"{p.file}:{p.line}:{p.col}" if p.line > 0 else p.file, p.message)
            for p in self.problems
        ]
        count = len(self.problems)
        kept = f"; version {active_version[:16]} stays active" if active_version else ""
        first = f": {self.problems[0]}" if self.problems else ""
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(
            f"the ruleset was refused with {count} problem(s){first}{more}{kept}",
            code="ruleset_refused",
        )


class NotFound(DomainError):
    """The named resource does not exist."""

    title = "Not found"


class Conflict(DomainError):
    """The request conflicts with what is stored (e.g. same event id, different body)."""

    title = "Conflict"


class NotBooked(DomainError):
    """An event of a batch failed for a reason of the service's own (logged); nothing of it
    was booked and the others were not held up. The caller may send it again."""

    title = "Event not booked"


class Unauthenticated(DomainError):
    """No credentials, or credentials that are not valid (unknown, revoked, expired, tampered)."""

    title = "Unauthenticated"


class Forbidden(DomainError):
    """Valid credentials that may not do this (wrong scope or another member)."""

    title = "Forbidden"
