"""Screenshots of a comparison's briefings for docs/, as a reader sees them in Chromium.

    python experiments/briefing_screenshots.py results/compare-<names>-<timestamp>/ [--out docs]

For German and English: the first screen on a desktop (1280 x 800 pixels, briefing-de.png), the top of the page
on a phone (390 pixels wide, briefing-de-phone.png) and the first printed A4 page (print styles, 794 pixels = 210
mm at 96 dpi, briefing-de-print.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model import browser
from model.report import BRIEFING_FILES

VIEWS = {  # suffix: (width, height, print media)
    "": (1280, 800, False),
    "-phone": (390, 1600, False),
    "-print": (794, 1123, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="results folder with briefing.html and briefing.en.html")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    if not browser.available():
        raise SystemExit(browser.MISSING)
    for lang, name in BRIEFING_FILES.items():
        for suffix, (width, height, paper) in VIEWS.items():
            with browser.session(width=width, height=height) as driver:
                browser.show(driver, (args.folder.resolve() / name).as_uri(), paper)
                target = args.out / f"briefing-{lang}{suffix}.png"
                driver.save_screenshot(str(target))
                print(f"wrote {target}")


if __name__ == "__main__":
    main()
