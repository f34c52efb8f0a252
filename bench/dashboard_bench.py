"""Dashboard benchmark: the overview page at 1,000,000 members, in Debian's headless Chromium.

    DATABASE_URL=... .venv/bin/python -m bench.dashboard_bench [--loads 10] [--no-load]

Fills `DATABASE_URL` (a scratch database) as `bench.reports_bench` does (1,000,000 members,
a year of rollups in all 16 shards), serves the app on a free local port (uvicorn, one
process), signs in with an admin key, then loads `/dashboard` `--loads` times and reads the
page's own timings: the first byte (the server rendering every report), the first chart drawn
and every chart drawn (`performance.mark` in `dashboard.js`), from the navigation's start.
Needs `chromium` and `chromium-driver` (Debian's packages).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from bench.live import LiveServer, insert_admin_key, start_browser
from bench.reports_bench import NOW, RULES, load_rollups
from service.core.clock import FixedClock
from service.settings import Settings, load_settings
from service.store.migrate import migrate

TIMINGS = """
const nav = performance.getEntriesByType('navigation')[0];
const mark = (name) => (performance.getEntriesByName(name)[0] || {}).startTime;
return [nav.responseStart, mark('first-chart'), mark('charts-drawn'),
        document.querySelectorAll('canvas').length];
"""


def _settings(url: str) -> Settings:
    return load_settings(
        {},
        database_url=url,
        token_secrets="bench-secret-one-0123456789abcdef",
        worker_interval_seconds=0,
        webhook_interval_seconds=0,
        rate_limit_per_minute=0,
        rate_limit_events_per_minute=0,
        rules_dir=str(RULES),
    )


def _sign_in(driver: Any, url: str, key: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(url + "/dashboard/sign-in")
    field = driver.find_element(By.ID, "api-key")
    field.send_keys(key)
    field.submit()


def _line(label: str, values: list[float]) -> str:
    return f"{label:<34} median {statistics.median(values):7.0f} ms   max {max(values):7.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--no-load", action="store_true", help="read what DATABASE_URL holds")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    migrate(url)
    if not args.no_load:
        asyncio.run(load_rollups(url, args.members, 365))
    server = LiveServer(_settings(url), FixedClock(NOW))
    base = server.start()
    driver = start_browser()
    try:
        _sign_in(driver, base, insert_admin_key(url, f"bench-{time.time_ns()}"))
        first_byte, first_chart, all_charts = [], [], []
        for n in range(args.loads + 1):
            driver.get(base + "/dashboard")
            deadline = time.monotonic() + 30
            while driver.execute_script("return document.body.dataset.charts") != "drawn":
                assert time.monotonic() < deadline, "the overview's charts did not draw"
                time.sleep(0.01)
            ttfb, first, drawn, canvases = driver.execute_script(TIMINGS)
            if n == 0:
                print(f"overview at {args.members:,} members: {canvases} charts")
                continue  # the first load warms the statement cache and the static files
            first_byte.append(ttfb)
            first_chart.append(first)
            all_charts.append(drawn)
        print(f"over {args.loads} loads of /dashboard, from the navigation's start:")
        print(_line("first byte (every report rendered)", first_byte))
        print(_line("first chart drawn", first_chart))
        print(_line("every chart drawn", all_charts))
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
