"""Screenshots of the planner's workbench for docs/ and the README, as a planner sees it in Chromium.

    python experiments/app_screenshots.py [--out docs] [--replicates 8]

Starts `prevsim app` on a free loopback port (stopped afterwards by its pid, with Ctrl-C as a planner stops it),
opens the page (1400 x 1500 pixels), waits for the full result and its charts and writes app-de.png; then opens
the live view, presses play, lets it step for PLAY_S seconds and writes app-live-de.png.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from model import browser
from model.app import LIVE_PATH

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 300  # the first page on a cold machine compiles the engine
PLAY_S = 40  # the live view steps month by month: a few years on the charts


def _full_result_with_charts(driver) -> bool:  # type: ignore[no-untyped-def]
    return bool(
        driver.execute_script(
            """
            const table = document.querySelector('table.figures');
            return table && +table.dataset.done >= +table.dataset.replicates
                && document.querySelectorAll('.chart .js-plotly-plot').length > 0;
            """
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--replicates", type=int, default=8)
    args = parser.parse_args()
    if not browser.available():
        raise SystemExit(browser.MISSING)
    with tempfile.TemporaryDirectory(prefix="prevsim-app-") as results:
        arguments = ["--results", results, "--replicates", str(args.replicates)]
        with (
            browser.app_server(arguments, ROOT, None, TIMEOUT_S) as url,
            browser.session(width=1400, height=1500) as driver,
        ):
            driver.get(url)
            WebDriverWait(driver, TIMEOUT_S, poll_frequency=0.5).until(_full_result_with_charts)
            time.sleep(2)  # the charts' last drawing
            driver.save_screenshot(str(args.out / "app-de.png"))
            print(f"wrote {args.out / 'app-de.png'}")
            driver.get(f"{url}{LIVE_PATH}")
            play = WebDriverWait(driver, TIMEOUT_S, poll_frequency=0.5).until(  # the past loaded: SolaraViz
                lambda d: [b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == "\u25b6"]
            )
            play[0].click()
            time.sleep(PLAY_S)
            driver.save_screenshot(str(args.out / "app-live-de.png"))
            print(f"wrote {args.out / 'app-live-de.png'}")


if __name__ == "__main__":
    main()
