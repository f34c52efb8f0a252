"""A JSON request body is read as the API declares it, or refused naming what is wrong.

litestar reads any body as JSON whatever its `Content-Type`, lets the last of two equal keys
win, and converts the decoded value with msgspec's lax rules (`"1"` for an integer, `1` or
`"true"` for a boolean). Here, for every route that takes a JSON body:

- the `Content-Type` must be `application/json` or a `+json` type, else 415;
- an object with the same key twice is 400 naming the key's path (`attributes.amount`);
- the value is converted strictly: a string where the schema says number or boolean is 400
  naming the field. Fields the API documents as decimals (event amounts, in `attributes`) are
  typed by the program's event schema, which takes strings or numbers, as before.

Decoding is msgspec's, straight into the route's type (UTF-8 only, no NaN, lone surrogates
refused); the duplicate check is a second pass by the standard library's parser over a body
already known to be well-formed JSON.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import Empty

from service.errors import InvalidInput

__all__ = ["DuplicateKey", "JsonBodyRequest", "duplicate_key"]


class DuplicateKey(msgspec.Struct, frozen=True):
    """The first key an object of the body holds twice, and where (`attributes.amount`)."""

    path: str
    key: str


class _Twice(dict[str, Any]):
    """An object that held `key` twice (the parser kept the last value)."""

    key: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    twice = _Twice(value)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            twice.key = key
            break
        seen.add(key)
    return twice


def _find(value: Any, path: str) -> DuplicateKey | None:
    if isinstance(value, _Twice):
        return DuplicateKey(f"{path}.{value.key}" if path else value.key, value.key)
    children: Any = ()
    if isinstance(value, dict):
        children = ((f"{path}.{k}" if path else k, v) for k, v in value.items())
    elif isinstance(value, list):
        children = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    for where, child in children:
        found = _find(child, where)
        if found is not None:
            return found
    return None


class _Repeated(Exception):
    """An object of the body holds a key twice (the fast pass stops at the first)."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise _Repeated
    return value


def duplicate_key(body: bytes) -> DuplicateKey | None:
    """The first duplicated key of a valid JSON text, or None."""
    # numbers stay text: the check needs no value, and Python's int() refuses 4,300 digits.
    # A first pass only detects (half the cost of a batch's full walk); the path is looked
    # for only when there is a duplicate.
    try:
        json.loads(body, object_pairs_hook=_unique, parse_int=str, parse_float=str)
    except ValueError:  # not UTF-8, or not JSON to Python: msgspec's own answer stands
        return None
    except _Repeated:
        value = json.loads(body, object_pairs_hook=_object, parse_int=str, parse_float=str)
        return _find(value, "")
    return None


def _is_json(media_type: str) -> bool:
    media_type = media_type.strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


class JsonBodyRequest(Request[Any, Any, Any]):
    """litestar's request, with `json()` decoding the route's body type strictly."""

    @staticmethod
    def _refuse_duplicates(body: bytes) -> None:
        twice = duplicate_key(body)
        if twice is not None:
            raise InvalidInput(
                f"the key '{twice.key[:100]}' appears more than once in its object",
                field=twice.path,
                code="duplicate_key",
            )

    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        data = self.route_handler.parsed_data_field
        if data is None:
            return await super().json()
        media_type, _ = self.content_type
        if not _is_json(media_type):
            raise HTTPException(
                status_code=415,
                detail=f"the body must be JSON, sent as Content-Type: application/json "
                f"(got {media_type[:100] or 'no Content-Type'})",
            )
        body = await self.body()
        try:  # one strict, typed pass; a duplicated key outranks what the schema says
            value = msgspec.json.decode(body, type=data.annotation, strict=True)
        except msgspec.ValidationError as exc:
            self._refuse_duplicates(body)
            raise ValidationException(  # the shape of litestar's own body errors
                detail=str(exc), extra=[{"message": str(exc), "key": "data", "source": "body"}]
            ) from None
        except msgspec.DecodeError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        self._refuse_duplicates(body)
        self._json = value
        return self._json
