"""The one error the embedded PostgreSQL raises: its message tells the operator what to do."""

from __future__ import annotations

__all__ = ["EmbeddedPostgresError"]


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised or started."""
