"""Refresh the generated parts of the docs: the parameter table in docs/ODD.md (from scenarios/baseline.toml).

python experiments/update_docs.py          # rewrite the table between its markers
python experiments/update_docs.py --check  # exit 1 if the table is out of date (used by the tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model import load_scenario
from model.cli import markdown_table, parameter_rows

ROOT = Path(__file__).resolve().parent.parent
ODD = ROOT / "docs" / "ODD.md"
START, END = "<!-- parameter-table:start -->", "<!-- parameter-table:end -->"


def parameter_table() -> str:
    return markdown_table(parameter_rows(load_scenario(ROOT / "scenarios" / "baseline.toml")))


def refreshed(text: str) -> str:
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{parameter_table()}\n{END}{after}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = ODD.read_text(encoding="utf-8")
    if args.check:
        sys.exit(0 if refreshed(text) == text else 1)
    ODD.write_text(refreshed(text), encoding="utf-8")


if __name__ == "__main__":
    main()
