"""Page cursors that name a position in a numbered sequence (ledger entries, audit lines): the
first page starts past every number; a cursor is the last number a page showed."""

from __future__ import annotations

from service.errors import InvalidInput

__all__ = ["FIRST_PAGE", "position_before"]

FIRST_PAGE = 2**62
"""Past every stored number: where the first page (newest first) starts."""


def position_before(cursor: str | None) -> int:
    """The number a page starts before: FIRST_PAGE without a cursor; InvalidInput naming
    `cursor` for one this API did not give out (not digits, or too long for a bigint)."""
    if cursor is None:
        return FIRST_PAGE
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise InvalidInput("cursor is not one this API gave out", field="cursor")
    return int(cursor)
