"""Spreadsheets of a comparison beside its CSV files: comparison.xlsx (English) and comparison.de.xlsx (German).

One sheet per table of `prevsim compare` (over the horizon, economics, by year) with the unit in every column
header, and a sheet that says what the numbers are. Cells hold numbers with a number format, so a spreadsheet
shows them with the reader's separators (1.234,5 in a German one) and can compute with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from babel.numbers import format_decimal
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from model.labels import words as _words
from model.outcomes import OUTCOMES, SOCIETAL
from model.output import write_atomically

ECONOMICS = (
    "extra_spending_pv_eur",
    "savings_pv_eur",
    "npv_eur_at_2pct",
    "npv_eur_at_3_5pct",
    "npv_eur_at_5pct",
    "benefit_cost_ratio",
    "savings_exceed_spending",
    "break_even_year",
    "break_even_share",
    "npv_eur_at_2pct_societal",
    "npv_eur_at_3_5pct_societal",
    "npv_eur_at_5pct_societal",
    "follow_up_savings_pv_eur_societal",
    "benefit_cost_ratio_societal",
    "savings_exceed_spending_societal",
)
STATISTICS = ("mean", "p05", "p95")
FORMATS = {
    "count": "#,##0.0",
    "rate": "#,##0.0",
    "months": "#,##0",
    "eur": "#,##0",
    "ratio": "0.00",
    "share": "0%",
    "year": "0",
}


def figure_label(figure: str, w: dict[str, Any]) -> tuple[str, str]:
    """(header text with its unit, unit kind) of a figure of comparison.csv."""
    f, services = w["figures"], w["services"]
    if figure.endswith(SOCIETAL):  # the same figure in the societal perspective, named as such
        text, kind = figure_label(figure.removesuffix(SOCIETAL), w)
        return f"{text}, {f['societal']}", kind
    if figure in OUTCOMES:
        return f[figure], "count"
    if figure.startswith("begun_"):
        return f["begun"].format(help=services.get(figure[6:], figure[6:])), "count"
    if figure.startswith("cases_"):
        return f["cases"].format(help=services.get(figure[6:], figure[6:])), "rate"
    if figure.startswith("help_months_"):
        return f["help_months"].format(help=services.get(figure[12:], figure[12:])), "months"
    if figure.startswith("cost_eur_"):
        return f["cost_eur"].format(category=f["categories"].get(figure[9:], figure[9:])), "eur"
    if figure.startswith("npv_eur_at_"):
        rate = float(figure.removeprefix("npv_eur_at_").removesuffix("pct").replace("_", "."))
        return f["npv"].format(rate=format_decimal(rate, locale=w["locale"])), "eur"
    kind = {"benefit_cost_ratio": "ratio", "break_even_year": "year", "hze_cases_all": "rate"}.get(figure, "eur")
    if figure in ("savings_exceed_spending", "break_even_share"):
        kind = "share"
    return f.get(figure, figure), kind


def _sheet(book: Workbook, title: str, index: list[str], frame: pd.DataFrame, w: dict[str, Any]) -> None:
    """One table: the index columns, then one column per figure with its unit in the header."""
    sheet = book.create_sheet(title[:31])
    kinds = []
    headers = list(index)
    for figure in frame.columns[len(index) :]:
        text, kind = figure_label(figure, w)
        headers.append(f"{text} ({w['figures']['units'][kind]})" if kind != "share" else text)
        kinds.append(kind)
    sheet.append(headers)
    for row in frame.itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in row])
    for column, kind in enumerate(kinds, start=len(index) + 1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = FORMATS[kind]
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column in range(1, len(headers) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 24 if column > len(index) else 22
    sheet.freeze_panes = sheet.cell(row=2, column=len(index) + 1)


def _wide(part: pd.DataFrame, words: dict[str, Any], by: list[str]) -> pd.DataFrame:
    """comparison.csv rows -> one row per `by`, one column per figure (in the order of the file)."""
    long = part.melt(id_vars=["scenario", "year", "figure"], value_vars=list(STATISTICS), var_name="statistic")
    long["statistic"] = long["statistic"].map(words["statistics"])
    frame = long.pivot_table(index=by, columns="figure", values="value", sort=False, dropna=False)
    return frame[list(dict.fromkeys(part["figure"]))].reset_index()


def write_workbooks(table: pd.DataFrame, manifest: dict[str, Any], folder: Path) -> list[Path]:
    """comparison.xlsx and comparison.de.xlsx from comparison.csv's table; returns the files written."""
    written = []
    for lang in ("en", "de"):
        w = _words(lang)
        words = w["workbook"]
        names = {s["name"]: s["scenario"].get("title", {}).get(lang, s["name"]) for s in manifest["scenarios"]}
        rows = table.assign(scenario=table["scenario"].map(names))
        book = Workbook()
        notes = book.active
        notes.title = words["readme"]
        for line in words["notes"]:
            notes.append([line.format(**(manifest | {"reference": names[manifest["reference"]]}))])
        notes.column_dimensions["A"].width = 140

        horizon = rows[(rows["year"] == "horizon") & ~rows["figure"].isin(ECONOMICS)]
        economics = rows[rows["figure"].isin(ECONOMICS)]
        by_year = rows[rows["year"] != "horizon"]
        sheets = [
            (words["horizon"], _wide(horizon, words, ["scenario", "statistic"])),
            (words["economics"], _wide(economics, words, ["scenario", "statistic"])),
            (
                words["by_year"],
                _wide(
                    words=words,
                    part=by_year.assign(year=by_year["year"].astype(int)),
                    by=["scenario", "year", "statistic"],
                ),
            ),
        ]
        for title, frame in sheets:
            index = [c for c in ("scenario", "year", "statistic") if c in frame.columns]
            frame = frame.rename(columns={c: words[c] for c in index})
            _sheet(book, title, [words[c] for c in index], frame, w)
        written.append(write_atomically(folder / words["file"], book.save))
    return written
