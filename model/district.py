"""District files: a youth office's own statistics (TOML or the spreadsheet template), validated like scenarios.

Every figure is a table { value, year, source }, or a list of them for one to five recent years::

    [cases]
    heimerziehung_34 = [
      { value = 812, year = 2022, source = "IT.NRW, Statistik der Kinder- und Jugendhilfe, Tabelle 22517-..." },
      { value = 834, year = 2023, source = "..." },
    ]

Figures of the statistics are named like the categories the catalogue counts helps in (`STATISTICS`).
Missing figures are allowed: the fit (`model.district_fit`) uses what is there. `load_district` reads a .toml or
an .xlsx file (the template `scenarios/districts/template.xlsx`, made by `write_template` from this schema) and
raises ScenarioError with one line per problem (file, key path or sheet and cell, value, what is allowed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from model.scenario import MAX_NAME_LENGTH, STATISTICS, ScenarioError, _problem_lines, read_toml

FIRST_FIGURE_YEAR = 2007  # the HzE statistics count cases (31 Dec + ended) in today's form since 2007 (KJH reform)
MAX_YEARS = 5  # "one to five recent years": older figures describe another office
AGE_GROUPS = ("0-5", "6-11", "12-17", "18-20")  # the model's age bands (model.scenario.AGE_BANDS_YEARS)
GERMAN_NUMBER = re.compile(r"^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")  # 1.234,5 / 1234,5 / 1.234.567


def german_number(text: str) -> float:
    """A number written as text: German form (decimal comma, dots between groups of three digits: "1.234,5") or
    plain digits ("1234"); anything else, also "1.234" without a comma (German thousands or an English decimal
    point?), is a ValueError saying how to write it."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "")
    if GERMAN_NUMBER.match(cleaned) and ("," in cleaned or "." not in cleaned):
        return float(cleaned.replace(".", "").replace(",", "."))
    raise ValueError(
        "not a number; write it as a number (1234.5), or as German text with a decimal comma "
        "(1.234,5 = 1234.5; a dot only between groups of three digits)"
    )


def _number(value: Any) -> Any:
    return german_number(value) if isinstance(value, str) else value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Figure(_Strict):
    value: Annotated[float, BeforeValidator(_number), Field(ge=0, allow_inf_nan=False)]
    year: int
    source: str = Field(min_length=3)

    @field_validator("year")
    @classmethod
    def _recent(cls, year: int) -> int:
        last = date.today().year
        if not FIRST_FIGURE_YEAR <= year <= last:
            raise ValueError(f"allowed {FIRST_FIGURE_YEAR}-{last} (the statistics in today's form)")
        return year


def _distinct_years(figures: list[Figure]) -> list[Figure]:
    years = [f.year for f in figures]
    if len(set(years)) != len(years):
        raise ValueError(f"years {years}: each year at most once")
    return sorted(figures, key=lambda f: f.year)


Series = Annotated[  # one figure, or one per year for up to MAX_YEARS years
    list[Figure], BeforeValidator(_as_list), Field(min_length=1, max_length=MAX_YEARS), AfterValidator(_distinct_years)
]
ByStatistic = dict[Literal[STATISTICS], Series]  # type: ignore[valid-type]


class Population(_Strict):
    inhabitants: Series = Field(description="inhabitants on 31 Dec (persons)")
    under_21: Series = Field(description="residents under 21 on 31 Dec (persons)")
    minors: Series | None = Field(None, description="residents under 18 on 31 Dec (persons)")
    under_21_by_age: dict[Literal[AGE_GROUPS], Series] = Field(  # type: ignore[valid-type]
        {}, description="residents of the age group on 31 Dec (persons)"
    )


class Inobhutnahmen(_Strict):
    total: Series | None = Field(None, description="Inobhutnahmen §42 begun in the year, all (persons)")
    without_unaccompanied: Series | None = Field(
        None, description="Inobhutnahmen §42 begun in the year, without unaccompanied minors' arrivals (persons)"
    )


class Assessments8a(_Strict):
    acute_endangerment: Series | None = Field(None, description="§8a assessments ended: acute endangerment")
    latent_endangerment: Series | None = Field(None, description="§8a assessments ended: latent endangerment")
    help_need_without_endangerment: Series | None = Field(None, description="§8a: need of help, no endangerment")
    neither: Series | None = Field(None, description="§8a assessments ended: neither endangerment nor need")


class Spending(_Strict):
    hze_eur: Series | None = Field(None, description="spending on HzE incl. §41 in the year (EUR, gross)")


class Staff(_Strict):
    caseworkers_fte: Series | None = Field(None, description="ASD caseworkers (full-time equivalents)")


SECTION_MEANING = {  # what a figure of a section keyed by statistics category counts (template, docs)
    "cases": "HzE cases: young people or families in help on 31 Dec plus helps ended in the year (persons)",
    "begun": "helps begun in the year (persons; §42: Inobhutnahmen begun)",
    "stock_31_dec": "young people or families in help on 31 Dec (persons)",
    "daily_rates_eur": "mean daily rate (EUR per day)",
    "monthly_costs_eur": "mean cost per case and month (EUR per month)",
}


class DistrictFile(_Strict):
    """A district's own figures; `extends` names the scenario whose mechanisms and catalogue the fit starts from."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME_LENGTH)
    description: str
    district_name: str = Field(min_length=2)
    extends: str = "../baseline.toml"
    population: Population
    cases: ByStatistic = {}
    begun: ByStatistic = {}
    stock_31_dec: ByStatistic = {}
    inobhutnahmen: Inobhutnahmen = Inobhutnahmen()
    assessments_8a: Assessments8a = Assessments8a()
    daily_rates_eur: ByStatistic = {}
    monthly_costs_eur: ByStatistic = {}
    spending: Spending = Spending()
    staff: Staff = Staff()


def inconsistencies(district: DistrictFile) -> list[tuple[tuple, str]]:
    """Figures that contradict each other: (location of the offending value, what is wrong)."""
    found = []
    for statistic, begun in district.begun.items():
        for i, year, started, counted in _same_years(begun, district.cases.get(statistic, [])):
            found.append(
                (
                    ("begun", statistic, i, "value"),
                    f"{started:g} in {year} exceeds cases.{statistic} = {counted:g} "
                    "(cases count every help begun in the year)",
                )
            )
    pop = district.population
    checks = [
        ("under_21", pop.under_21, "inhabitants", pop.inhabitants),
        ("minors", pop.minors, "under_21", pop.under_21),
    ]
    for part, smaller, whole, larger in checks:
        for i, year, a, b in _same_years(smaller or [], larger):
            found.append(
                (
                    ("population", part, i, "value"),
                    f"{a:g} in {year} exceeds population.{whole} = {b:g} (a share above 1)",
                )
            )
    under_21 = {f.year: f.value for f in pop.under_21}
    for group, series in pop.under_21_by_age.items():
        for i, f in enumerate(series):
            total = sum(g.value for s in pop.under_21_by_age.values() for g in s if g.year == f.year)
            if f.year in under_21 and total > under_21[f.year]:
                found.append(
                    (
                        ("population", "under_21_by_age", group, i, "value"),
                        f"the age groups of {f.year} add up to "
                        f"{total:g}, more than population.under_21 = {under_21[f.year]:g}",
                    )
                )
                break
    return found


def _same_years(first: list[Figure], second: list[Figure]) -> list[tuple[int, int, float, float]]:
    """(index, year, first, second) for every figure of `first` above the figure of the same year in `second`."""
    other = {f.year: f.value for f in second}
    return [(i, f.year, f.value, other[f.year]) for i, f in enumerate(first) if f.value > other.get(f.year, f.value)]


def _validated(data: dict[str, Any], file_of: Callable[[tuple], str]) -> DistrictFile:
    """The validated district, or a ScenarioError: one line per problem (`file_of` a location: file, cell)."""
    try:
        district = DistrictFile.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_problem_lines(err, file_of, DistrictFile)) from None
    problems = [
        f"{file_of(loc)}: {'.'.join(str(p) for p in loc[:-2])}[{loc[-2]}]: {message}"
        for loc, message in inconsistencies(district)
    ]
    if problems:
        raise ScenarioError(problems)
    return district


def load_district(path: str | Path) -> DistrictFile:
    """Read and validate a district file (.toml, or .xlsx from the template); ScenarioError lists every problem."""
    path = Path(path).resolve()
    if path.suffix.lower() == ".xlsx":
        data, cells = read_workbook(path)
        return _validated(data, lambda loc: f"{path}: {cells.get(_cell_key(loc), 'sheet figures')}")
    return _validated(read_toml(path, kind="district"), lambda _loc: path)


# --- the spreadsheet template ------------------------------------------------------------------

SHEET_DISTRICT, SHEET_FIGURES = "district", "figures"
FIGURE_COLUMNS = ("figure", "year", "value", "source", "meaning")
TEXT_KEYS = ("name", "description", "district_name", "extends")


def figure_rows() -> list[tuple[str, str]]:
    """(figure key path, meaning) for every figure the schema knows, in its order: the template's rows."""
    rows = []
    for section, field in DistrictFile.model_fields.items():
        if section in TEXT_KEYS:
            continue
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            for key, inner in model.model_fields.items():
                if key == "under_21_by_age":
                    rows += [(f"{section}.{key}.{group}", inner.description or "") for group in AGE_GROUPS]
                else:
                    rows.append((f"{section}.{key}", inner.description or ""))
        else:
            rows += [(f"{section}.{statistic}", SECTION_MEANING[section]) for statistic in STATISTICS]
    return rows


def write_template(path: Path) -> Path:
    """The spreadsheet template: sheet `district` (name, description, district_name, extends) and sheet `figures`
    (one row per figure of the schema; add a row per further year)."""
    import pandas as pd

    from model.output import write_atomically

    about = pd.DataFrame(
        {
            "key": list(TEXT_KEYS),
            "value": ["my_district", "My district: own figures", "Landkreis ...", "../baseline.toml"],
            "meaning": [
                "file name of the calibrated scenario (letters, digits, _ . -)",
                "one sentence",
                "the district's name as the briefing shows it",
                "the scenario the fit starts from, relative to this file",
            ],
        }
    )
    rows = pd.DataFrame([(key, None, None, None, meaning) for key, meaning in figure_rows()], columns=FIGURE_COLUMNS)

    def write(temporary: Path) -> None:
        with pd.ExcelWriter(temporary, engine="openpyxl") as book:
            about.to_excel(book, sheet_name=SHEET_DISTRICT, index=False)
            rows.to_excel(book, sheet_name=SHEET_FIGURES, index=False)

    return write_atomically(path, write)


def _cell_key(loc: tuple) -> tuple:
    """The key of a validation error's location in the cell map: section, key (, group), row index, field."""
    return tuple(str(part) for part in loc)


def read_workbook(path: Path) -> tuple[dict[str, Any], dict[tuple, str]]:
    """The district file's data from the template workbook, and where each entry stands ("sheet figures, cell
    C5"); a missing sheet or column, or a figure not in the schema, is a ScenarioError naming it."""
    import pandas as pd

    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, engine="openpyxl")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: file does not exist"]) from None
    except (OSError, ValueError, KeyError) as err:  # openpyxl: not a workbook, a damaged one
        raise ScenarioError([f"{path}: not a readable .xlsx workbook: {err}"]) from None
    problems = [
        f"{path}: sheet {name!r} is missing (the template has sheets {SHEET_DISTRICT!r} and {SHEET_FIGURES!r})"
        for name in (SHEET_DISTRICT, SHEET_FIGURES)
        if name not in sheets
    ]
    if problems:
        raise ScenarioError(problems)
    about, figures = sheets[SHEET_DISTRICT], sheets[SHEET_FIGURES]
    for sheet, frame, columns in (
        (SHEET_DISTRICT, about, ("key", "value")),
        (SHEET_FIGURES, figures, FIGURE_COLUMNS[:4]),
    ):
        problems += [
            f"{path}: sheet {sheet!r}: column {column!r} is missing (row 1 names the columns: {', '.join(columns)})"
            for column in columns
            if column not in frame.columns
        ]
    if problems:
        raise ScenarioError(problems)
    data: dict[str, Any] = {}
    cells: dict[tuple, str] = {}
    for i, row in about.iterrows():
        if isinstance(row["key"], str) and _filled(row["value"]):
            data[row["key"].strip()] = str(row["value"]).strip()
            cells[(row["key"].strip(),)] = f"sheet {SHEET_DISTRICT!r}, cell B{int(i) + 2}"
    known = {key for key, _ in figure_rows()}
    letters = {column: chr(ord("A") + figures.columns.get_loc(column)) for column in FIGURE_COLUMNS[:4]}
    for i, row in figures.iterrows():
        if not _filled(row["value"]):
            continue  # an empty row of the template: the figure is missing, which is allowed
        line = int(i) + 2  # row 1 holds the column names
        key = str(row["figure"]).strip() if _filled(row["figure"]) else ""
        if key not in known:
            near = [k for k in known if key and key.split(".")[-1] == k.split(".")[-1]]
            hint = f"; did you mean {near[0]}?" if near else " (the template's column A lists the figures)"
            problems.append(
                f"{path}: sheet {SHEET_FIGURES!r}, cell {letters['figure']}{line}: {key!r}: unknown figure{hint}"
            )
            continue
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        entries = node.setdefault(last, [])
        entry = {
            "value": row["value"],
            "year": _year(row["year"]),
            "source": "" if not _filled(row["source"]) else str(row["source"]),
        }
        for field, column in (("value", "value"), ("year", "year"), ("source", "source")):
            cells[(*key.split("."), str(len(entries)), field)] = (
                f"sheet {SHEET_FIGURES!r}, cell {letters[column]}{line}"
            )
        cells[(*key.split("."), str(len(entries)))] = f"sheet {SHEET_FIGURES!r}, row {line}"
        entries.append(entry)
    if problems:
        raise ScenarioError(problems)
    return data, cells


def _filled(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, float) and cell != cell) and str(cell).strip() != ""


def _year(cell: Any) -> Any:
    """A year cell as an int where it is one (Excel stores 2023 as 2023.0); otherwise as written, for the message."""
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    if isinstance(cell, str) and cell.strip().isdigit():
        return int(cell.strip())
    return cell


# --- figures the fit compares ------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFigure:
    """One local figure in a year, as the model reports it (a rate), with what the fit needs to weigh it."""

    name: str  # the district file's key path, e.g. "cases.heimerziehung_34"
    model_figure: str  # the column of `district_fit.model_figures`
    year: int
    value: float  # in the model figure's unit
    unit: str
    sd_log: float  # uncertainty of the local figure on the log scale (see `local_figures`)
    source: str


PER_10K = "per 10,000 under 21"
SPENDING_SD_LOG = 0.02  # assumption: spending is booked exactly, but years differ by accruals of about 2 %


def under_21_in(district: DistrictFile, year: int) -> float:
    """Residents under 21 in `year`, or in the nearest year given (the population changes slowly)."""
    nearest = min(district.population.under_21, key=lambda f: (abs(f.year - year), -f.year))
    return nearest.value


def local_figures(district: DistrictFile) -> list[LocalFigure]:
    """Every local figure the fit compares, as a rate like the model's figure (`model.calibration`): counts per
    10,000 under 21, spending per resident under 21. A count n is uncertain by 1/sqrt(n) on the log scale
    (Poisson: the same district in another year of the same risks)."""
    out: list[LocalFigure] = []

    def add(name: str, model_figure: str, series: list[Figure] | None, per_resident: bool = False) -> None:
        for f in series or []:
            u21 = under_21_in(district, f.year)
            if per_resident:
                out.append(
                    LocalFigure(
                        name,
                        model_figure,
                        f.year,
                        f.value / u21,
                        "EUR per resident under 21",
                        SPENDING_SD_LOG,
                        f.source,
                    )
                )
            else:
                out.append(
                    LocalFigure(
                        name,
                        model_figure,
                        f.year,
                        f.value / u21 * 10_000,
                        PER_10K,
                        1 / max(f.value, 1) ** 0.5,
                        f.source,
                    )
                )

    for statistic, series in district.cases.items():
        add(f"cases.{statistic}", f"cases_{statistic}", series)
    for statistic, series in district.begun.items():
        add(f"begun.{statistic}", f"begun_per_10k_{statistic}", series)
    for statistic, series in district.stock_31_dec.items():
        add(f"stock_31_dec.{statistic}", f"stock_{statistic}", series)
    itn = district.inobhutnahmen
    add("inobhutnahmen.total", "begun_per_10k_inobhutnahme_42", itn.total)
    add(
        "inobhutnahmen.without_unaccompanied", "inobhutnahmen_without_unaccompanied_per_year", itn.without_unaccompanied
    )
    a8 = district.assessments_8a
    if a8.acute_endangerment and a8.latent_endangerment:
        latent = {f.year: f for f in a8.latent_endangerment}
        both = [
            Figure(value=f.value + latent[f.year].value, year=f.year, source=f"{f.source}; {latent[f.year].source}")
            for f in a8.acute_endangerment
            if f.year in latent
        ]
        add("assessments_8a.acute_endangerment + latent_endangerment", "assessments_8a_endangerment_per_year", both)
    add(
        "assessments_8a.help_need_without_endangerment",
        "assessments_8a_need_without_endangerment_per_year",
        a8.help_need_without_endangerment,
    )
    add("assessments_8a.neither", "assessments_8a_neither_per_year", a8.neither)
    add("spending.hze_eur", "hze_spending_per_resident_under_21", district.spending.hze_eur, per_resident=True)
    return out


def latest(series: list[Figure] | None) -> Figure | None:
    """The figure of the most recent year given (district inputs taken directly: population, rates, staff)."""
    return max(series, key=lambda f: f.year) if series else None
