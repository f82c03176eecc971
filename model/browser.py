"""Headless Chromium (Debian packages chromium and chromium-driver) driven by Selenium: how the briefing is
checked the way a reader sees it, and how its screenshots in docs/ are made. Needs the `test` extra."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MISSING = "needs Chromium and its driver: apt-get install chromium chromium-driver (.ci/run installs them)"


def available() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


# headless without a sandbox (containers, CI), and without the browser's own traffic (updates, sync, QUIC
# probes): the requests a test sees are the page's
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(profile: Path, offline: bool = False, width: int = 1280, height: int = 1800) -> Any:
    """A Selenium driver for headless Chromium with a fresh profile in the (empty) folder `profile` and a
    viewport of width x height pixels (under 600: a phone) that records console messages and network
    requests; offline=True cuts the network (DevTools' network emulation) before any page loads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    # the page sees exactly width x height (headless windows are at least 500 pixels wide); narrow = a phone
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    if offline:
        browser.execute_cdp_cmd("Network.enable", {})
        conditions = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)
    return browser


@contextmanager
def session(**options: Any) -> Iterator[Any]:
    """`chromium(**options)` with a profile in a new temporary folder; quit and the folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="prevsim-chromium-") as profile:
        driver = chromium(Path(profile), **options)
        try:
            yield driver
        finally:
            driver.quit()


def sent_requests(driver: Any) -> list[str]:
    """The addresses of the requests and websockets the pages sent over a network so far (http, https, ws,
    wss; not the browser's own chrome:// pages, nor file:, data: or blob:), from the performance log."""
    import json
    from urllib.parse import urlparse

    urls = []
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        if event["method"] == "Network.requestWillBeSent":
            urls.append(event["params"]["request"]["url"])
        elif event["method"] == "Network.webSocketCreated":
            urls.append(event["params"]["url"])
    return [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")]


def wait_for_charts(browser: Any, timeout_s: float = 30) -> list[Any]:
    """The page's chart containers, once every one of them has drawn its traces as SVG."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    charts = browser.find_elements(By.CSS_SELECTOR, "div.chart")
    WebDriverWait(browser, timeout_s).until(
        lambda _: all(c.find_elements(By.CSS_SELECTOR, "svg.main-svg g.trace path") for c in charts)
    )
    return charts


def show(browser: Any, url: str, paper: bool = False) -> None:
    """Open `url` at the window's size and wait for its charts; paper=True lays it out with the print styles
    (CSS media "print"), as the first A4 page would look."""
    if paper:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    browser.get(url)
    wait_for_charts(browser)
    if paper:  # what the page's beforeprint handler does when a reader prints
        browser.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    from selenium.webdriver.support.ui import WebDriverWait

    fits = (  # plotly resizes a moment after the event
        "return [...document.querySelectorAll('.js-plotly-plot')]"
        ".every(p => p._fullLayout && p._fullLayout.width <= p.parentElement.clientWidth + 1)"
    )
    WebDriverWait(browser, 10).until(lambda _: browser.execute_script(fits))


def overflowing(browser: Any) -> dict[str, Any]:
    """How wide the document is against the window, and the elements that reach past its right or left edge
    (tag, class, right edge in pixels; at most ten)."""
    return browser.execute_script(
        """
        const width = document.documentElement.clientWidth;
        const out = [];
        for (const e of document.body.querySelectorAll('*')) {
          const r = e.getBoundingClientRect();
          const shown = r.width > 0 && r.height > 0 && r.right > 0;  // plotly keeps measuring helpers far left
          if (shown && (r.right > width + 1 || r.left < -1)) {
            const name = e.className.baseVal !== undefined ? e.className.baseVal : e.className;  // SVG or HTML
            out.push([e.tagName, String(name), Math.round(r.left), Math.round(r.right)]);
          }
        }
        return {document: document.documentElement.scrollWidth, window: width, elements: out.slice(0, 10)};
        """
    )


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(arguments: list[str], cwd: Path, log: Any, timeout_s: float) -> Iterator[str]:
    """`prevsim app --port <free port> ARGUMENTS` as a subprocess writing to `log`; yields the page's address
    once it listens, and stops it by its pid afterwards, with Ctrl-C as a planner stops it (uvicorn re-raises
    a SIGTERM after its shutdown, which would end the process before `prevsim app` removes its folder of
    snapshots and estimates)."""
    port = free_port()
    command = [sys.executable, "-c", "from model.cli import app; app()", "app", "--port", str(port), *arguments]
    process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        said = f"; its output: {log.name}" if hasattr(log, "name") else ""
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    stopped = f"prevsim app stopped before it listened (exit {process.returncode}){said}"
                    raise RuntimeError(stopped) from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"prevsim app did not listen within {timeout_s:.0f} s{said}") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
