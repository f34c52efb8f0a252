"""A live service for browser-driven checks (the dashboard's tests and benchmark): the app
served by uvicorn in a thread of its own (so a blocking browser call never stalls it), an admin
key stored for it, and Debian's headless Chromium."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import uvicorn

from service.auth import generate_key
from service.core.clock import FixedClock
from service.settings import Settings
from service.store import keys as key_store
from service.store.database import Database

__all__ = ["CHROMEDRIVER", "CHROMIUM", "LiveServer", "insert_admin_key", "start_browser"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def start_browser() -> Any:
    """Headless Chromium at a laptop's size (1366x768), driven by Debian's chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,768",
        "--force-device-scale-factor=1",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})  # console errors
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # the page's own viewport at 1366x768 (the window's size counts the browser's frame)
    metrics = {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    return driver


def insert_admin_key(url: str, name: str = "pm-dashboard") -> str:
    """Store a new key with the `admin` scope in the database at `url`; its token."""
    issued = generate_key(name, ["admin"])

    async def insert() -> None:
        db = Database(url, min_size=0, max_size=1)
        await db.open()
        try:
            async with db.transaction() as conn:
                await key_store.insert_key(
                    conn,
                    key_id=issued.key_id,
                    name=issued.name,
                    secret_hash=issued.secret_hash,
                    scopes=issued.scopes,
                )
        finally:
            await db.close()

    asyncio.run(insert())
    return issued.token


class LiveServer:
    """uvicorn serving the app on a free port, in a thread with its own event loop."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        from service.app import create_app
        from service.http.servers import uvicorn_options

        options = {**uvicorn_options(settings), "host": "127.0.0.1", "port": 0, "workers": 1}
        options["loop"] = "asyncio"  # the thread's own loop, not a process-wide policy
        config = uvicorn.Config(
            create_app(settings, clock=clock), lifespan="on", log_level="error", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive(), "the live server stopped while starting"
            assert time.monotonic() < deadline, "the live server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
