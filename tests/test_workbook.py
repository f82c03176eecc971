"""The spreadsheets beside comparison.csv: one sheet per table, units in the headers, the same numbers."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from model import load_scenario
from model.comparison import compare
from tests.conftest import ROOT, shrink


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    scenarios = [shrink(load_scenario(ROOT / "scenarios" / f"{n}.toml"), 4000, 1, 2) for n in ("baseline", "austerity")]
    return compare(scenarios, replicates=2, seed=3, workers=1).write(tmp_path_factory.mktemp("results"))


@pytest.mark.parametrize(
    ("file", "sheets", "header", "money"),
    [
        (
            "comparison.xlsx",
            ["Read me", "Over the horizon", "Economics", "By year"],
            "Residential care (§ 34): begun",
            "EUR",
        ),
        (
            "comparison.de.xlsx",
            ["Lies mich", "Über den Zeitraum", "Wirtschaftlichkeit", "Je Jahr"],
            "Heimerziehung (§ 34): neu begonnen",
            "€",
        ),
    ],
)
def test_each_table_is_a_sheet_with_units_and_the_numbers_of_comparison_csv(folder, file, sheets, header, money):
    book = openpyxl.load_workbook(folder / file)
    assert book.sheetnames == sheets
    horizon = book[sheets[1]]
    headers = [c.value for c in horizon[1]]
    assert any(h.startswith(header + " (") for h in headers[2:]), headers
    total = next(i for i, h in enumerate(headers) if h.endswith(f"({money})") and ("total" in h or "insgesamt" in h))
    table = pd.read_csv(folder / "comparison.csv", dtype={"year": str}).set_index(["scenario", "year", "figure"])
    expected = table.loc[("austerity", "horizon", "cost_eur_total"), "mean"]
    mean_row = next(r for r in horizon.iter_rows(min_row=2) if r[1].value in ("mean", "Mittelwert"))
    assert mean_row[total].value == pytest.approx(expected)
    assert mean_row[total].number_format == "#,##0"
    assert all(not isinstance(c.value, str) for row in horizon.iter_rows(min_row=2, min_col=3) for c in row)
    assert book[sheets[3]].max_row == 1 + 2 * 3  # 2 years x (mean, 5 %, 95 %) of one alternative
    keys = [c.value for sheet in book.worksheets[1:] for c in sheet[1] if "_" in str(c.value)]
    assert keys == []  # every figure by its label, none by its key in comparison.csv
