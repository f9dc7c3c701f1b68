"""A real browser against the console: headless Chromium (Debian's chromium and chromium-driver,
installed by .ci/run) driven by Selenium, and the app served on loopback by a one-request-at-a-
time server thread that shares the test's database connection, so the test's outer transaction
still rolls everything back. Screenshots go to ``$DISPATCH_ARTIFACTS_DIR`` (default
``artifacts/console``)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from dispatch.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(os.environ.get("DISPATCH_ARTIFACTS_DIR", "artifacts")) / "console"
WAIT_S = 30
# Chromium as the probe of this machine starts it: no network beyond loopback is reachable, so
# every background connection it would try is switched off.
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1366,900", "--lang=zh-CN", "--force-device-scale-factor=1")


def _browser_present() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@pytest.fixture
def live_server(base_settings, session_factory) -> Iterator[str]:
    """The app on 127.0.0.1:<free port>, on the test's connection (base_settings: its upload
    directory holds the demo's evidence photos). Plans solve inline with a 1 s limit."""
    app = create_app(base_settings.with_(solve_time_limit_s=1), session_factory=session_factory)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not _browser_present():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: chromium and chromium-driver are missing")
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    # The browser keeps the real clock: CI's faketime leg preloads libfaketime into this process.
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME", "FAKETIME_NO_CACHE")}
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
    driver.set_page_load_timeout(WAIT_S)
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 2400)")
    driver.set_window_size(1366, max(900, height))
    driver.save_screenshot(str(path))
    driver.set_window_size(1366, 900)
    return path
