"""Headless Chromium (Debian packages chromium and chromium-driver) driven by Selenium: how the briefing is
checked the way a reader sees it, and how its screenshots in docs/ are made. Needs the `test` extra."""

from __future__ import annotations

import shutil
from typing import Any

MISSING = "needs Chromium and its driver: apt-get install chromium chromium-driver (.ci/run installs them)"


def available() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def chromium(offline: bool = False, width: int = 1280, height: int = 1800) -> Any:
    """A Selenium driver for headless Chromium that records console messages and network requests;
    offline=True cuts the network (DevTools' network emulation) before any page loads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    if offline:
        browser.execute_cdp_cmd("Network.enable", {})
        conditions = {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0}
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)
    return browser


def wait_for_charts(browser: Any, timeout_s: float = 30) -> list[Any]:
    """The page's chart containers, once every one of them has drawn its traces as SVG."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    charts = browser.find_elements(By.CSS_SELECTOR, "div.chart")
    WebDriverWait(browser, timeout_s).until(
        lambda _: all(c.find_elements(By.CSS_SELECTOR, "svg.main-svg g.trace path") for c in charts)
    )
    return charts
