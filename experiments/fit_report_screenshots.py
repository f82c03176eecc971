"""Screenshots of fit reports (`prevsim calibrate`'s <district>.fit.html) for docs/districts.md, as a planner sees
them in Chromium, offline.

    python experiments/fit_report_screenshots.py scenarios/rhein_kreis_neuss.fit.html [...] [--out docs]

Per report: the first screen (fit-<district>.png, 1280 x 900 pixels) and, where the tables do not fit on it, the
tables (fit-<district>-tables.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model import browser

WIDTH_PX, HEIGHT_PX = 1280, 900  # a desktop screen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", type=Path, nargs="+", help="fit reports written by prevsim calibrate")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    if not browser.available():
        raise SystemExit(browser.MISSING)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for report in args.reports:
        name = report.name.removesuffix(".fit.html")
        with browser.session(offline=True, width=WIDTH_PX, height=HEIGHT_PX) as driver:
            driver.get(report.resolve().as_uri())
            WebDriverWait(driver, 60).until(  # plotly has drawn its traces
                lambda d: d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot svg.main-svg g.trace path")
            )
            shots = [args.out / f"fit-{name}.png"]
            driver.save_screenshot(str(shots[0]))
            below = "return [...document.querySelectorAll('table')].pop().getBoundingClientRect().bottom > innerHeight"
            if driver.execute_script(below):  # the tables do not fit on the first screen
                driver.execute_script("document.querySelector('h2').scrollIntoView()")
                shots.append(args.out / f"fit-{name}-tables.png")
                driver.save_screenshot(str(shots[1]))
            print("wrote", ", ".join(map(str, shots)))


if __name__ == "__main__":
    main()
