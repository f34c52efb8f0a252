"""The committed contract is the one the code serves."""

from __future__ import annotations

import json
from pathlib import Path

from service.app import create_app
from service.settings import load_settings

COMMITTED = Path(__file__).parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_code():
    app = create_app(load_settings({}))
    generated = app.openapi_schema.to_schema()
    committed = json.loads(COMMITTED.read_text())
    assert generated == committed, (
        "openapi/openapi.json is stale: run `loyalty openapi > openapi/openapi.json` and commit it"
    )


async def test_served_openapi_is_the_committed_one(client):
    served = (await client.get("/schema/openapi.json")).json()
    assert served == json.loads(COMMITTED.read_text())


def test_every_integer_parameter_is_bounded_above():
    """An unbounded integer in a query or path reaches a bigint column or date arithmetic and
    becomes a 500 (the route fuzz found `before=2**63`): each one declares its maximum."""
    import json
    from pathlib import Path

    document = json.loads((Path(__file__).parents[1] / "openapi" / "openapi.json").read_text())
    unbounded = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                branches = [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]
                if any(b.get("type") == "integer" for b in branches) and not any(
                    "maximum" in b or "exclusiveMaximum" in b for b in branches
                ):
                    unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert unbounded == []
