"""Every operation has a short, stable id in the API's words: the typed clients' method names.

The ids are set on each route by hand (litestar's own would read `V1MembersMemberIdGetMember`),
are unique, and match `openapi/operation_ids.txt`, so that a rename is a deliberate change of
that file (and of every client), never a side effect of moving a route."""

from __future__ import annotations

import re
from pathlib import Path

from service.app import create_app
from service.settings import load_settings

COMMITTED = Path(__file__).parents[1] / "openapi" / "operation_ids.txt"
SHORT = re.compile(r"^[a-z][a-zA-Z]{2,31}\Z")


def _operations() -> list[tuple[str, str, str]]:
    schema = create_app(load_settings({})).openapi_schema.to_schema()
    return sorted(
        (op["operationId"], method.upper(), path)
        for path, item in schema["paths"].items()
        for method, op in item.items()
    )


def test_operation_ids_are_short_camel_case_and_unique():
    ids = [op for op, _, _ in _operations()]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert [i for i in ids if not SHORT.match(i)] == []


def test_every_route_sets_its_operation_id():
    app = create_app(load_settings({}))
    unset = [
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if not handler.http_methods <= {"OPTIONS", "HEAD"}
        and not route.path.startswith("/schema")
        and not isinstance(handler.operation_id, str)
    ]
    assert unset == []


def test_operation_ids_match_the_committed_list():
    committed = [
        tuple(line.split(" "))
        for line in COMMITTED.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert _operations() == committed, (
        "operation ids changed: if on purpose, update openapi/operation_ids.txt and regenerate "
        "the clients (`python -m clients.generate`)"
    )
