"""Screenshots of a comparison's briefings (German and English) for docs/, as a reader sees them in Chromium.

    python experiments/briefing_screenshots.py results/compare-<names>-<timestamp>/ [--out docs] [--height 1900]

The top of each page (key figures and the first chart) at 1280 pixels wide: docs/briefing-de.png, briefing-en.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model import browser
from model.report import BRIEFING_FILES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="results folder with briefing.html and briefing.en.html")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--height", type=int, default=1900, help="pixels of the page shown")
    args = parser.parse_args()
    if not browser.available():
        raise SystemExit(browser.MISSING)
    for lang, name in BRIEFING_FILES.items():
        driver = browser.chromium(height=args.height)
        try:
            driver.get((args.folder.resolve() / name).as_uri())
            browser.wait_for_charts(driver)
            target = args.out / f"briefing-{lang}.png"
            driver.save_screenshot(str(target))
            print(f"wrote {target}")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
