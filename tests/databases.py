"""A fresh database for a test that needs several (one per path, one per hypothesis example):
cloned from the migrated template, with an admin key, the demo program (plus extra rule files)
published through the API, a few members and their referral codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import asyncpg
from helpers import app_settings, bearer

from service.auth import generate_key
from service.store import keys as key_store
from service.store.database import Database

RULES = Path(__file__).resolve().parents[1] / "rules"


class FreshProgram:
    """A fresh database with the demo program (and `extra_rules`) to publish, an admin key
    (`auth`), `members` with a region each, referral `codes`, and settings for an app on it
    (`settings`, with any overrides given)."""

    def __init__(
        self,
        admin_url: str,
        template: str,
        extra_rules: str = "",
        members: Iterable[str] = (),
        codes: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> None:
        self.admin_url, self.template = admin_url, template
        self.extra_rules, self.members, self.codes = extra_rules, tuple(members), dict(codes or {})
        self.overrides = settings
        self.name = f"t_{uuid.uuid4().hex[:16]}"
        self.url = f"{admin_url.rpartition('/')[0]}/{self.name}"

    async def __aenter__(self) -> FreshProgram:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(
                f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY'
            )
        finally:
            await conn.close()
        db = Database(self.url, min_size=0, max_size=2)
        await db.open()
        issued = generate_key("paths", ["admin"])
        async with db.transaction() as conn:
            await key_store.insert_key(
                conn,
                key_id=issued.key_id,
                name=issued.name,
                secret_hash=issued.secret_hash,
                scopes=issued.scopes,
            )
            await conn.raw.executemany(
                "INSERT INTO members (member_id, attributes) VALUES ($1, $2)",
                [(m, {"region": "north" if m < "c" else "south"}) for m in self.members],
            )
            await conn.raw.executemany(
                "INSERT INTO referral_codes (code, member_id) VALUES ($1, $2)",
                list(self.codes.items()),
            )
        await db.close()
        self.auth = bearer(issued.token)
        self.settings = app_settings(
            self.url,
            rules_dir=str(RULES),
            db_pool_min=2,  # the service's own pool: the grouped path runs many events at once
            db_pool_max=20,
            rate_limit_per_minute=0,
            rate_limit_events_per_minute=0,
            group_window_ms=20.0,
            **self.overrides,
        )
        return self

    async def publish(self, client: Any) -> None:
        files = {p.name: p.read_text() for p in RULES.glob("*.yaml")}
        if self.extra_rules:
            files["extra.yaml"] = self.extra_rules
        published = await client.post("/v1/admin/rules", json={"files": files}, headers=self.auth)
        assert published.status_code in (200, 201), published.text

    async def __aexit__(self, *exc: object) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()
