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
