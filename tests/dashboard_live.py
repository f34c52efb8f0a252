"""The dashboard's browser tests' harness: one database, one live server (uvicorn in a thread
of its own, so a blocking browser call never stalls it), a seeded program, and one headless
Chromium from Debian's packages, all for the whole module."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from helpers import bearer, purchase, refund

from bench.live import CHROMEDRIVER, CHROMIUM, LiveServer, insert_admin_key, start_browser
from service.core.clock import FixedClock
from service.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]
RULES_DIR = REPO / "rules"

EXPERIMENT = """\
rules:
  - id: welcome-bonus
    on: purchase
    experiment:
      id: welcome-2026
      holdout: 20%
      variants: {A: 100, B: 200}
    actions:
      - points: 150
    reason: "welcome bonus"
"""

MEMBERS = {
    "alice": "Alice Archer",
    "bob": "Bob <b>Bold</b>",
    "carol": "Carol Cruz",
    "dave": "Dave Dunn",
    "erin": "Erin Eads",
    "frank": "Frank Fox",
}


def screenshots_dir() -> Path:
    """Where each page's screenshot goes: $DASHBOARD_SCREENSHOTS, else build/screenshots."""
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def browser_missing() -> str | None:
    """Why no browser can run here (None: both binaries are installed)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    return (
        f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
        if missing
        else None
    )


def require_browser() -> None:
    """Skip without a browser, unless REQUIRE_BROWSER=1 (CI): then fail."""
    why = browser_missing()
    if why is None:
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {why}")
    pytest.skip(why)


@dataclass
class Live:
    """The running server: its URL, the admin key, a member's token, and its clock."""

    url: str
    admin: str
    member_token: str
    clock: FixedClock
    http: httpx.Client


def _database(admin_url: str, template: str) -> str:
    name = f"t_dash_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        finally:
            await conn.close()

    asyncio.run(create())
    return f"{admin_url.rpartition('/')[0]}/{name}"


def _drop(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def _settings(url: str) -> Settings:
    return load_settings(
        {},
        database_url=url,
        token_secrets="test-secret-one-0123456789abcdef",
        api_key_cache_seconds=0,
        db_pool_min=1,
        db_pool_max=6,
        worker_interval_seconds=0,
        webhook_interval_seconds=0,
        rate_limit_per_minute=0,
        rate_limit_events_per_minute=0,
        db_timeout_seconds=30,
    )


def _seed(http: httpx.Client, admin: str, clock: FixedClock) -> None:
    """A small program: a second ruleset version (with an experiment), six members, three
    weeks of purchases each booked when it happened (the clock moves with them, as the
    reports' rollups date what is booked), one refund; the clock ends at the suite's Monday."""
    end = clock.now()
    start = end - timedelta(days=21)
    clock.set(start - timedelta(hours=1))
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))}
    files["experiment.yaml"] = EXPERIMENT
    published = http.post("/v1/admin/rules", json={"files": files}, headers=bearer(admin))
    assert published.status_code == 201, published.text
    for member_id, name in MEMBERS.items():
        body = {"display_name": name}
        put = http.put(f"/v1/members/{member_id}", json=body, headers=bearer(admin))
        assert put.status_code in (200, 201), put.text
    n = 0
    orders: dict[str, str] = {}
    for day in range(0, 21, 2):
        for i, member_id in enumerate(MEMBERS):
            if (day + i) % 3 == 0:
                continue
            n += 1
            moment = start + timedelta(days=day, hours=i)
            clock.set(moment)
            at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            body = purchase(f"e{n}", member_id, f"{10 + 7 * i + day}.00", at, order_id=f"o{n}")
            posted = http.post("/v1/events", json=body, headers=bearer(admin))
            assert posted.status_code == 201, posted.text
            orders.setdefault(member_id, f"o{n}")
    clock.set(end - timedelta(days=1))
    at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    refunded = http.post(
        "/v1/events", json=refund("r1", "bob", orders["bob"], "5.00", at), headers=bearer(admin)
    )
    assert refunded.status_code == 201, refunded.text
    clock.set(end)


def serve_seeded(pg_admin_url: str, template_db: str) -> Iterator[Live]:
    """The live server on a seeded database of its own (a module fixture's body)."""
    require_browser()
    url = _database(pg_admin_url, template_db)
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # the suite's Monday
    server = LiveServer(_settings(url), clock)
    admin = insert_admin_key(url)
    base = server.start()
    http = httpx.Client(base_url=base, timeout=30)
    try:
        _seed(http, admin, clock)
        token = http.post("/v1/members/alice/tokens", headers=bearer(admin)).json()["token"]
        yield Live(url=base, admin=admin, member_token=token, clock=clock, http=http)
    finally:
        http.close()
        server.stop()
        _drop(pg_admin_url, url)


def run_browser() -> Iterator[Any]:
    """One headless Chromium (a module fixture's body)."""
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()
