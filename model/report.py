"""The committee briefing: one self-contained HTML page from a comparison folder (`prevsim report`).

It reads what `prevsim compare` wrote (manifest.json, comparison.csv, summary.csv, timeseries.parquet), so
every key figure on the page is a value of comparison.csv. The words come from data/briefing.toml (German
and English), numbers are formatted for the language (babel), charts are plotly with plotly.js embedded
once: the page opens offline, on a projector, and prints on A4.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import babel.numbers
import jinja2
import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup
from plotly.colors import hex_to_rgb
from plotly.offline import get_plotlyjs
from pydantic import ValidationError

from model.attribution import PRICES, group_label, read_attribution
from model.charts import OKABE_ITO
from model.comparison import (
    BASE_RATE,
    CHANCE_SE_LIMIT,
    EARLY_CATEGORIES,
    LATE_CATEGORIES,
    Comparison,
    chance_standard_error,
    invests,
    npv_key,
)
from model.experiment import Uncertainty, load_experiment
from model.labels import label_or_key, words
from model.outcomes import OUTCOMES, PER_FAMILY, SOCIETAL, break_even_warning, note_of
from model.output import writable_folder, write_atomically, write_text
from model.run import simulate_many
from model.scenario import CATEGORIES, Scenario, ScenarioError, unit_of
from model.uncertainty import mode, uncertain_numbers

DATA = Path(__file__).parent / "data"
LANGUAGES = ("de", "en")
BRIEFING_FILES = {"de": "briefing.html", "en": "briefing.en.html"}
NEEDED = ("manifest.json", "comparison.csv", "summary.csv", "timeseries.parquet")
OAT_PARAMETERS = 5
DEFAULT_UNCERTAINTIES = Path(__file__).resolve().parent.parent / "experiments" / "sobol_prevention.toml"
NPV = npv_key(BASE_RATE)
REFERENCE_COLOUR = "#000000"
CATEGORY_COLOURS = dict(zip(CATEGORIES, ["#009E73", "#56B4E9", "#F0E442", "#D55E00", "#CC79A7"], strict=True))
LABEL_CHARACTERS = 24  # line length of an assumption's label beside its bars
FONT = {"family": "DejaVu Sans, Verdana, Arial, sans-serif", "size": 15}


def texts(lang: str) -> dict[str, Any]:
    """The briefing's words in one language ("§ 34" never broken across lines)."""
    raw = (DATA / "briefing.toml").read_text(encoding="utf-8").replace("§ ", "§\u00a0")
    return tomllib.loads(raw)[lang]


# --- reading a comparison folder ------------------------------------------------------------------------------


@dataclass
class ComparisonResults:
    """What `prevsim compare` wrote into one folder."""

    folder: Path
    manifest: dict[str, Any]
    table: pd.DataFrame  # comparison.csv
    summary: pd.DataFrame  # summary.csv
    scenarios: list[Scenario]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    @property
    def alternatives(self) -> list[str]:
        return self.names[1:]

    @property
    def first_year(self) -> int:
        return int(self.manifest["start_year"])

    @property
    def last_year(self) -> int:
        return self.first_year + int(self.manifest["horizon_years"]) - 1

    @property
    def replicates(self) -> int:
        return int(self.manifest["replicates"])

    def row(self, scenario: str, year: int | str, figure: str) -> pd.Series:
        return self.indexed.loc[(scenario, str(year), figure)]

    @cached_property
    def indexed(self) -> pd.DataFrame:
        """comparison.csv indexed by scenario, year, figure."""
        return self.table.set_index(["scenario", "year", "figure"])

    def cumulative_net_saving(self) -> pd.DataFrame:
        """Per (scenario, year): cumulative net saving against the reference since the first year, EUR, over
        replicates (mean, 5 %, 95 %); the same cash flows as comparison.csv's net_saving_eur, summed up."""
        metrics = [f"cost_eur.category.{c}" for c in (*EARLY_CATEGORIES, *LATE_CATEGORIES)]
        series = pd.read_parquet(self.folder / "timeseries.parquet", filters=[("metric", "in", metrics)])
        series["year"] = self.first_year + series["month"] // 12
        cost = series.groupby(["scenario", "replicate", "year"])["value"].sum().unstack("scenario")
        net = -(cost[self.alternatives].sub(cost[self.names[0]], axis=0))  # savings - extra spending
        cumulative = net.groupby(level="replicate").cumsum().stack().rename("value")
        grouped = cumulative.groupby(level=["scenario", "year"])
        return pd.DataFrame(
            {"mean": grouped.mean(), "p05": grouped.quantile(0.05), "p95": grouped.quantile(0.95)}
        ).reset_index()


def read_comparison(folder: Path) -> ComparisonResults:
    """The comparison in `folder`, or a ScenarioError saying what is missing or wrong (one line per problem)."""
    if not folder.is_dir():
        raise ScenarioError([f"{folder}: not a folder; give a results folder written by prevsim compare"])
    if not (folder / "manifest.json").is_file():
        raise ScenarioError([f"{folder}: no manifest.json: not a results folder of prevsim compare"])
    problems = []
    manifest: dict[str, Any] = {}
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        problems.append(f"{folder / 'manifest.json'}: not valid JSON ({err})")
    if manifest and manifest.get("kind") != "comparison":
        problems.append(
            f"{folder / 'manifest.json'}: kind: {manifest.get('kind')!r}: not a comparison; a briefing needs the "
            "folder of `prevsim compare REFERENCE ALTERNATIVE...`"
        )
    missing = [name for name in NEEDED if not (folder / name).is_file()]
    if missing:
        problems.append(
            f"{folder}: missing {', '.join(missing)}: the comparison is incomplete (interrupted?); run prevsim "
            "compare again"
        )
    if problems:
        raise ScenarioError(problems)
    try:
        scenarios = [Scenario.model_validate(s["scenario"]) for s in manifest["scenarios"]]
        start = int(manifest["start_year"])
        absent_keys = [key for key in ("horizon_years", "replicates", "seed") if key not in manifest]
    except (KeyError, TypeError, ValidationError) as err:
        first = str(err).splitlines()[0]
        raise ScenarioError(
            [f"{folder / 'manifest.json'}: scenarios: not readable ({first}); run compare again"]
        ) from None
    if absent_keys:
        raise ScenarioError([f"{folder / 'manifest.json'}: missing {', '.join(absent_keys)}; run compare again"])
    table = pd.read_csv(folder / "comparison.csv", dtype={"year": str})
    summary = pd.read_csv(folder / "summary.csv", dtype={"year": str})
    needed_rows = [(s, "horizon", f) for s in [x.name for x in scenarios[1:]] for f in (NPV, "net_saving_eur")]
    needed_rows += [(s.name, str(start), "stock_heimerziehung_34") for s in scenarios]
    have = set(zip(table.get("scenario", []), table.get("year", []), table.get("figure", []), strict=True))
    have |= set(zip(summary.get("scenario", []), summary.get("year", []), summary.get("figure", []), strict=True))
    absent = [row for row in needed_rows if row not in have]
    if absent or not {"mean", "p05", "p50", "p95", "n"} <= set(table.columns):
        shown = ", ".join("/".join(map(str, row)) for row in absent[:3]) or "columns mean, p05, p50, p95, n"
        raise ScenarioError([f"{folder}: comparison.csv or summary.csv lacks {shown}: incomplete; run compare again"])
    return ComparisonResults(folder, manifest, table, summary, scenarios)


# --- numbers in words ------------------------------------------------------------------------------------------


class Numbers:
    """Numbers formatted for one language: 1.234,5 in German, 1,234.5 in English."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, value: float, digits: int = 1) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return babel.numbers.format_decimal(round(value, digits) + 0.0, format=pattern, locale=self.locale)

    def plain(self, value: float) -> str:
        """A parameter value as written (up to 4 significant digits)."""
        if value != 0 and abs(value) < 0.001:
            return babel.numbers.format_scientific(value, format="0.##E0", locale=self.locale)
        return babel.numbers.format_decimal(float(f"{value:.4g}"), locale=self.locale)

    def share(self, value: float) -> str:
        return babel.numbers.format_percent(value, format="#,##0 %", locale=self.locale)


@dataclass(frozen=True)
class KeyFigure:
    """One line of "at a glance": a figure of comparison.csv over the horizon, shown as `statistic` x `scale`."""

    label: str  # key in briefing.toml
    figure: str
    scale: float = 1.0
    digits: int = 1
    statistic: str = "mean"
    signed: bool = False  # a balance: shown as a saving or, turned round, as an extra cost
    investment_only: bool = False  # only for a scenario that spends more on early help


KEY_FIGURES = (
    KeyFigure("kf_placements", "begun_heimerziehung_34"),
    KeyFigure("kf_foster", "begun_vollzeitpflege_33"),
    KeyFigure("kf_extra", "extra_spending_eur", scale=1e-6, digits=2),
    KeyFigure("kf_net_saving", "net_saving_eur", scale=1e-6, digits=2, signed=True),
    KeyFigure("kf_npv", NPV, scale=1e-6, digits=2, signed=True),
    KeyFigure("kf_break_even", "break_even_year", digits=0, statistic="p50", investment_only=True),
    KeyFigure("kf_bcr", "benefit_cost_ratio", digits=2, investment_only=True),
    KeyFigure("kf_chance", "savings_exceed_spending", scale=100.0, digits=0, investment_only=True),
    KeyFigure("kf_price", "cost_change_price_eur", scale=-1e-6, digits=2),  # a price effect, not a programme effect
    KeyFigure("kf_npv_societal", NPV + SOCIETAL, scale=1e-6, digits=2, signed=True),
    KeyFigure("kf_bcr_societal", "benefit_cost_ratio" + SOCIETAL, digits=2, investment_only=True),
)


class Page:
    """Everything the template needs for one language."""

    def __init__(self, results: ComparisonResults, lang: str) -> None:
        self.results, self.lang = results, lang
        self.t = texts(lang)
        self.number = Numbers(self.t["locale"])

    def title_of(self, name: str) -> str:
        scenario = self.results.scenarios[self.results.names.index(name)]
        return scenario.title.get(self.lang, name.replace("_", " "))

    def label_of(self, key: str) -> str:
        return label_or_key(key, self.lang)

    def fill(self, key: str, **values: Any) -> str:
        r = self.results
        common = {"first_year": r.first_year, "last_year": r.last_year, "reference": self.title_of(r.names[0])}
        return self.t[key].format(**(common | {"replicates": r.replicates} | values))

    def value(self, scenario: str, year: int | str, figure: str, statistic: str = "mean") -> float:
        return float(self.results.row(scenario, year, figure)[statistic])

    def invests(self, scenario: str) -> bool:
        """Whether the scenario spends more on early help than the reference (comparison.invests)."""
        return invests(self.results.indexed, scenario)

    def span(
        self, scenario: str, year: int | str, figure: str, statistic: str = "mean", scale: float = 1.0, digits: int = 1
    ) -> Markup:
        """A number with the coordinates of its comparison.csv cell, so a test can check it against the file."""
        value = self.value(scenario, year, figure, statistic)
        # a year is whole, rounded as the file's digits round it (the median of an even number of replicates may be x.5)
        text = str(round(value)) if figure == "break_even_year" else self.number(value * scale, digits)
        if scale == 100.0:  # a share in per cent
            text += "\u00a0%"
        return Markup(
            '<span class="kf" data-scenario="{}" data-year="{}" data-figure="{}" data-statistic="{}" data-scale="{:g}" '
            'data-digits="{}">{}</span>'
        ).format(scenario, year, figure, statistic, scale, digits, text)

    # --- the summary a chair reads aloud ---

    def digest(self, scenario: str) -> dict[str, Any]:
        """Conclusion, cost, what it buys, when it pays, how sure: one card per programme."""
        r, t = self.results, self.t
        last = str(r.last_year)
        net = self.value(scenario, "horizon", "net_saving_eur")
        invests = self.invests(scenario)
        money = self.span(scenario, "horizon", "net_saving_eur", scale=1e-6 if net >= 0 else -1e-6, digits=2)
        verdict = (
            ("verdict_pays" if net >= 0 else "verdict_costs")
            if invests
            else ("verdict_saves" if net >= 0 else "verdict_cut")
        )
        facts = []
        if invests or abs(self.value(scenario, "horizon", "extra_spending_eur")) >= 1:
            sign = 1.0 if invests else -1.0  # a cut is shown as less spending, never as a negative extra spending
            amounts = Markup(t["spending" if invests else "spending_cut"]).format(
                year_amount=self.span(scenario, last, "extra_spending_eur", scale=sign * 1e-3, digits=0),
                horizon_amount=self.span(scenario, "horizon", "extra_spending_eur", scale=sign * 1e-6, digits=2),
                year=last,
                first_year=r.first_year,
                last_year=last,
            )
            facts.append((t["fact_spending" if invests else "fact_less_spending"], amounts))
        else:
            facts.append((t["fact_spending"], Markup.escape(t["spending_unchanged"])))
        buys = []
        for figure, help_number in (("begun_heimerziehung_34", "34"), ("begun_vollzeitpflege_33", "33")):
            change = self.value(scenario, "horizon", figure)
            if abs(change) < 0.05:  # shown as 0,0
                continue
            digits = 0 if abs(change) >= 10 else 1
            number = self.span(scenario, "horizon", figure, scale=-1.0 if change < 0 else 1.0, digits=digits)
            buys.append(Markup(t[("fewer_" if change < 0 else "more_") + help_number]).format(number=number))
        facts.append((self.fill("fact_buys"), Markup("<br>").join(buys) or Markup.escape(t["placements_unchanged"])))
        if invests:
            facts.append((t["fact_break_even"], self.break_even_text(scenario)))
            sure = Markup(t["sure_chance"]).format(
                chance=self.span(scenario, "horizon", "savings_exceed_spending", scale=100.0, digits=0)
            )
            chance = self.value(scenario, "horizon", "savings_exceed_spending")
            error = chance_standard_error(chance, r.replicates)
            if error > CHANCE_SE_LIMIT:
                sure += self.fill("sure_few", error=self.number(100 * error, 0))
        else:
            facts.append((t["fact_break_even"], Markup.escape(t["no_extra_spending"])))
            sure = Markup(t["sure_interval"]).format(
                low=self.span(scenario, "horizon", "net_saving_eur", "p05", 1e-6, 2),
                high=self.span(scenario, "horizon", "net_saving_eur", "p95", 1e-6, 2),
            )
        facts.append((t["fact_sure"], sure))
        return {
            "title": self.title_of(scenario),
            "verdict": Markup(self.t[verdict]).format(net=money, last_year=r.last_year),
            "facts": facts,
        }

    def break_even_text(self, scenario: str) -> Markup:
        share = self.span(scenario, "horizon", "break_even_share", scale=100.0, digits=0)
        if self.results.row(scenario, "horizon", "break_even_year")["n"] == 0:
            return Markup.escape(self.fill("never"))
        year = self.span(scenario, "horizon", "break_even_year", "p50", digits=0)
        text = Markup(self.t["break_even_year"]).format(year=year, share=share, last_year=self.results.last_year)
        r = self.results
        if break_even_warning(r.indexed, scenario, int(r.manifest["horizon_years"]), r.last_year):
            text += self.fill("break_even_wide")
        return text

    # --- at a glance ---

    def key_figure(self, scenario: str, k: KeyFigure) -> dict[str, Markup]:
        """{'main': ..., 'detail': ...} as HTML for one scenario."""
        row = self.results.row(scenario, "horizon", k.figure)
        if k.figure.startswith("benefit_cost_ratio") and note_of(self.results.indexed, scenario, k.figure).startswith(
            "none"
        ):  # late help costs more: a net cost, shown by the NPV, never as a negative ratio
            return {"main": Markup.escape(self.t["bcr_negative"]), "detail": Markup()}
        if (k.investment_only and not self.invests(scenario)) or (
            k.figure != "break_even_year" and pd.isna(row[k.statistic])
        ):
            return {"main": Markup.escape(self.t["not_applicable"]), "detail": Markup()}
        if k.figure == "savings_exceed_spending":
            return {
                "main": self.span(scenario, "horizon", k.figure, k.statistic, k.scale, k.digits),
                "detail": Markup(),
            }
        if k.figure == "break_even_year":
            if row["n"] == 0:
                return {"main": Markup.escape(self.fill("never")), "detail": Markup()}
            share = self.span(scenario, "horizon", "break_even_share", scale=100.0, digits=0)
            main = self.span(scenario, "horizon", "break_even_year", "p50", digits=0)
            return {"main": main, "detail": Markup(self.fill("break_even_detail")).format(share=share)}
        saving = row[k.statistic] >= 0
        scale = -k.scale if k.signed and not saving else k.scale  # a net cost is shown as a cost, with its interval
        low, high = ("p05", "p95") if scale > 0 else ("p95", "p05")  # the interval from low to high as shown
        interval = Markup(self.t["interval"]).format(
            low=self.span(scenario, "horizon", k.figure, low, scale, k.digits)
            if not pd.isna(row[low])
            else Markup.escape(self.t["cost_word"]),  # a ratio whose low end is a net cost
            high=self.span(scenario, "horizon", k.figure, high, scale, k.digits),
        )
        main = self.span(scenario, "horizon", k.figure, k.statistic, scale, k.digits)
        if k.signed:
            main += Markup(" ") + (self.t["saving_word"] if saving else self.t["cost_word"])
        return {"main": main, "detail": interval}

    def children(self) -> list[dict[str, Any]]:
        """What children gain: each outcome's change over the horizon with its 90 % interval, then the
        per-family figures (a ratio of means, or why it is not shown), one cell per alternative."""
        label = words(self.lang)["figures"]
        rows = []
        for figure in OUTCOMES:
            cells = []
            for scenario in self.results.alternatives:
                digits = 0 if figure == "child_months_high_risk_without_help" else 1
                interval = Markup(self.t["interval"]).format(
                    low=self.span(scenario, "horizon", figure, "p05", digits=digits),
                    high=self.span(scenario, "horizon", figure, "p95", digits=digits),
                )
                cells.append({"main": self.span(scenario, "horizon", figure, digits=digits), "detail": interval})
            rows.append({"label": label[figure], "cells": cells})
        for figure in PER_FAMILY:
            cells = []
            for scenario in self.results.alternatives:
                if pd.isna(self.value(scenario, "horizon", figure)):
                    cells.append({"main": Markup.escape(self.t["not_shown"]), "detail": Markup()})
                else:
                    cells.append({"main": self.span(scenario, "horizon", figure, scale=1e-3, digits=1), "detail": ""})
            rows.append({"label": self.t["per_family_unit"].format(label=label[figure]), "cells": cells})
        return rows

    def glance(self) -> list[dict[str, Any]]:
        return [
            {"label": self.fill(k.label), "cells": [self.key_figure(s, k) for s in self.results.alternatives]}
            for k in KEY_FIGURES
        ]

    # --- assumptions ---

    def differences(self) -> list[dict[str, Any]]:
        """Per alternative: the sourced numbers it changes against the reference."""
        reference = dict(self.results.scenarios[0].parameters())
        sections = []
        for scenario in self.results.scenarios[1:]:
            rows = []
            for key, p in scenario.parameters():
                ref = reference.get(key)
                if ref is not None and (ref.value, getattr(ref, "by_year", {})) == (p.value, getattr(p, "by_year", {})):
                    continue
                unit = unit_of(key) or ""
                rows.append(
                    {
                        "key": key,
                        "label": self.label_of(key),
                        "unit": self.t["units"].get(unit, unit),
                        "reference": self.value_text(ref) if ref is not None else [],
                        "value": self.value_text(p),
                        "source": p.source,
                    }
                )
            sections.append({"title": self.title_of(scenario.name), "rows": rows})
        return sections

    def value_text(self, p: Any) -> list[str]:
        """The value, then one line per change from a year on."""
        plain = self.number.plain
        value = " / ".join(plain(v) for v in p.value) if isinstance(p.value, list) else plain(p.value)
        by_year = sorted(getattr(p, "by_year", {}).items())
        return [value, *(self.t["from_year"].format(year=year, value=plain(v)) for year, v in by_year)]


# --- charts ----------------------------------------------------------------------------------------------------


@dataclass
class Panel:
    """One small chart of a grid: its caption (HTML, so that it wraps on a phone) and figure."""

    caption: str
    figure: go.Figure


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = hex_to_rgb(colour)
    return f"rgba({r},{g},{b},{alpha})"


def _colours(names: list[str]) -> dict[str, str]:
    others = [c for c in OKABE_ITO if c != REFERENCE_COLOUR]
    return {name: REFERENCE_COLOUR if i == 0 else others[(i - 1) % len(others)] for i, name in enumerate(names)}


def _look(fig: go.Figure, page: Page, height: int, legend: bool = True) -> go.Figure:
    """Fonts, legend and separators of the language; the width follows the page (a phone, a projector, A4).
    Without a legend (a panel of a grid, whose legend is HTML above it) the margins are narrow."""
    fig.update_layout(
        template="plotly_white",
        font=FONT,
        autosize=True,
        height=height,
        showlegend=legend,
        margin={"l": 70, "r": 20, "t": 60, "b": 60} if legend else {"l": 70, "r": 20, "t": 10, "b": 50},
        separators=",." if page.lang == "de" else ".,",
        legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0, "xanchor": "left"},
        hoverlabel={"font_size": 14},
    )
    fig.update_annotations(font_size=15)
    fig.update_xaxes(automargin=True)  # room for the last year's label at the right edge
    return fig


def _band(
    fig: go.Figure, x: Any, low: Any, mid: Any, high: Any, colour: str, name: str, legend: bool, **at: int
) -> None:
    """A mean line with its 90 % band (5-95 % of replicates) in the same colour, one legend entry per scenario."""
    common = {"x": x, "legendgroup": name, "hoverinfo": "skip", "line": {"width": 0}, "showlegend": False}
    fig.add_trace(go.Scatter(y=high, mode="lines", **common), **at)
    fig.add_trace(go.Scatter(y=low, mode="lines", fill="tonexty", fillcolor=_rgba(colour, 0.12), **common), **at)
    fig.add_trace(
        go.Scatter(
            x=x, y=mid, mode="lines", name=name, legendgroup=name, showlegend=legend, line={"color": colour, "width": 3}
        ),
        **at,
    )


def _yearly(page: Page, figure: str) -> pd.DataFrame:
    """comparison.csv's rows of one figure per calendar year (paired differences against the reference)."""
    table = page.results.table
    rows = table[(table["figure"] == figure) & table["year"].str.isdigit()]
    return rows.assign(year=rows["year"].astype(int))


def legend(page: Page, names: list[str]) -> list[dict[str, str]]:
    """The HTML legend of a grid of panels: colour and name of each scenario (the reference: the zero line)."""
    colours = _colours(page.results.names)
    return [{"colour": colours[n], "name": page.title_of(n), "marker": ""} for n in names]


def placements_chart(page: Page) -> list[Panel]:
    """Placements as differences to the reference (the zero line): no band hides another scenario's line."""
    r, t = page.results, page.t
    panels = [("cases_heimerziehung_34", "cases_34"), ("begun_heimerziehung_34", "begun_34")]
    panels += [("cases_vollzeitpflege_33", "cases_33"), ("begun_vollzeitpflege_33", "begun_33")]
    colours = _colours(r.names)
    out = []
    for figure, caption in panels:
        fig = go.Figure()
        rows = _yearly(page, figure)
        for name in r.alternatives:
            mine = rows[rows["scenario"] == name]
            _band(fig, mine["year"], mine["p05"], mine["mean"], mine["p95"], colours[name], page.title_of(name), False)
        fig.add_hline(y=0, line={"color": REFERENCE_COLOUR, "width": 1.5, "dash": "dash"})
        fig.update_yaxes(title_text=t["per_10k"] if figure.startswith("cases") else t["per_year"])
        fig.update_xaxes(title_text=t["year"])
        out.append(Panel(t[caption], _look(fig, page, 340, legend=False)))
    return out


def cost_chart(page: Page) -> list[Panel]:
    """Per alternative, the change of spending against the reference by kind of help: extra spending on early
    help above zero, savings on late help below, the balance as a marker."""
    t = page.t
    out = []
    for name in page.results.alternatives:
        fig = go.Figure()
        for category in CATEGORIES:
            values = _yearly(page, f"cost_eur_{category}")
            values = values[values["scenario"] == name]
            fig.add_trace(
                go.Bar(
                    x=values["year"],
                    y=values["mean"] * 1e-6,
                    name=t[f"category_{category}"],
                    marker_color=CATEGORY_COLOURS[category],
                )
            )
        total = _yearly(page, "cost_eur_total")
        total = total[total["scenario"] == name]
        fig.add_trace(
            go.Scatter(
                x=total["year"],
                y=total["mean"] * 1e-6,
                mode="markers",
                name=t["cost_total"],
                marker={"symbol": "diamond", "size": 9, "color": REFERENCE_COLOUR},
            )
        )
        fig.update_yaxes(title_text=t["cost_axis"], zeroline=True, zerolinecolor="#555555")
        fig.update_xaxes(title_text=t["year"])
        fig.update_layout(barmode="relative", bargap=0.1)
        out.append(Panel(page.title_of(name), _look(fig, page, 340, legend=False)))
    return out


def cost_legend(page: Page) -> list[dict[str, str]]:
    items = [{"colour": CATEGORY_COLOURS[c], "name": page.t[f"category_{c}"], "marker": ""} for c in CATEGORIES]
    return [*items, {"colour": REFERENCE_COLOUR, "name": page.t["cost_total"], "marker": "diamond"}]


def cumulative_chart(page: Page) -> go.Figure:
    r, t = page.results, page.t
    data = r.cumulative_net_saving()
    colours = _colours(r.names)
    fig = go.Figure()
    fig.add_hline(y=0, line={"color": "#555555", "width": 1})
    for name in r.alternatives:
        rows = data[data["scenario"] == name]
        scaled = [rows[c] * 1e-6 for c in ("p05", "mean", "p95")]
        _band(fig, rows["year"], *scaled, colours[name], page.title_of(name), True)
        share = r.row(name, "horizon", "break_even_share")["mean"]
        year = r.row(name, "horizon", "break_even_year")["p50"]
        if not pd.isna(share) and not pd.isna(year):
            fig.add_vline(
                x=year,
                line={"color": colours[name], "dash": "dot", "width": 2},
                annotation={"text": t["break_even_marker"].format(year=round(year)), "font": {"color": colours[name]}},
            )
    fig.update_xaxes(title_text=t["year"])
    fig.update_yaxes(title_text=page.fill("cumulative_axis"))
    return _look(fig, page, 520)


def attribution_panels(page: Page) -> list[Panel]:
    """Per alternative, each lever group's Shapley value of the net present value (attribution.csv of `compare
    --attribution`; no panels without it), prices apart from programme levers, and the largest part in words."""
    table = read_attribution(page.results.folder)
    if table is None:
        return []
    t, number = page.t, page.number
    colours = {PRICES: OKABE_ITO[1], "total": REFERENCE_COLOUR}
    panels = []
    for name in page.results.alternatives:
        rows = table[(table["scenario"] == name) & (table["outcome"] == NPV)].set_index("group")
        groups = [g for g in rows.index if g != "total"]
        if not groups:
            continue
        labels = [group_label(g, page.lang) for g in groups] + [t["attribution_total"]]
        shown = rows.loc[[*groups, "total"], ["mean", "p05", "p95"]] * 1e-6
        fig = go.Figure(
            go.Bar(
                y=labels,
                x=shown["mean"],
                orientation="h",
                marker_color=[colours.get(g, OKABE_ITO[0]) for g in [*groups, "total"]],
                error_x={"type": "data", "symmetric": False, "array": shown["p95"] - shown["mean"]}
                | {"arrayminus": shown["mean"] - shown["p05"], "color": "#555555"},
                hovertemplate="%{y}: %{x:.2f}<extra></extra>",
            )
        )
        fig.update_xaxes(title_text=t["attribution_axis"], zeroline=True, zerolinecolor="#555555")
        fig.update_yaxes(autorange="reversed", automargin=True)
        total = shown.loc["total", "mean"]
        caption = page.title_of(name)
        sign = 1.0 if total >= 0 else -1.0  # a net cost is said as a cost, in positive numbers
        same_side = [g for g in groups if shown.loc[g, "mean"] * sign > 0]
        if same_side:
            largest = max(same_side, key=lambda g: abs(shown.loc[g, "mean"]))
            digits = 1 if abs(total) >= 1 else 3  # a small district's result in thousands of EUR, not "0.0"
            sentence = t["attribution_saving" if total >= 0 else "attribution_cost"].format(
                total=number(sign * total, digits),
                part=number(sign * shown.loc[largest, "mean"], digits),
                group=group_label(largest, page.lang),
            )
            caption += f": {sentence}"
        panels.append(Panel(caption, _look(fig, page, 110 + 45 * len(labels), legend=False)))
    return panels


def attribution_legend(page: Page) -> list[dict[str, str]]:
    kinds = ((OKABE_ITO[0], "attribution_lever"), (OKABE_ITO[1], "attribution_price"))
    return [{"colour": colour, "name": page.t[key], "marker": ""} for colour, key in kinds]


# --- what drives the result ----------------------------------------------------------------------------------


@dataclass
class Drivers:
    panels: list[Panel]
    legend: list[dict[str, str]]  # an HTML legend above the panels (empty: a chart with its own legend)
    note: str
    uncertainties: list[Uncertainty]  # shown with their sources (empty when an experiment's indices are shown)


def drivers_from_experiment(page: Page, folder: Path) -> Drivers:
    """The Sobol, eFAST or Morris ranking of a finished `prevsim experiment` on the same scenarios."""
    manifest_path, indices_path = folder / "manifest.json", folder / "indices.csv"
    if not manifest_path.is_file() or not indices_path.is_file():
        raise ScenarioError([f"{folder}: not a finished sensitivity experiment (needs manifest.json and indices.csv)"])
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ScenarioError([f"{manifest_path}: not valid JSON ({err})"]) from None
    names = [s["name"] for s in manifest.get("scenarios", [])]
    if manifest.get("kind") != "experiment" or not set(names) <= set(page.results.names):
        raise ScenarioError(
            [f"{folder}: experiment on {names!r}: its scenarios must be among the comparison's {page.results.names!r}"]
        )
    spec = manifest["experiment"]
    indices = pd.read_csv(indices_path)
    outcome = NPV if NPV in set(indices["outcome"]) else str(indices["outcome"].iloc[0])
    rows = indices[indices["outcome"] == outcome]
    t = page.t
    outcome_label = t["outcome_npv"] if outcome == NPV else outcome
    fig = go.Figure()
    if "mu_star" in rows:
        rows = rows.sort_values("mu_star")
        fig.add_trace(
            go.Bar(
                y=[page.label_of(p) for p in rows["parameter"]],
                x=rows["mu_star"],
                orientation="h",
                marker_color=OKABE_ITO[0],
            )
        )
        fig.update_xaxes(title_text=t["morris_axis"])
        note = t["drivers_morris"].format(experiment=spec["name"], outcome=outcome_label)
    else:
        rows = rows.sort_values("ST")
        for key, colour in (("S1", OKABE_ITO[5]), ("ST", OKABE_ITO[0])):
            fig.add_trace(
                go.Bar(
                    y=[page.label_of(p) for p in rows["parameter"]],
                    x=rows[key],
                    error_x={"type": "data", "array": rows[f"{key}_conf"]},
                    orientation="h",
                    name=t["sobol_first" if key == "S1" else "sobol_total"],
                    marker_color=colour,
                )
            )
        fig.update_xaxes(title_text=t["sobol_axis"])
        method = spec["design"]["method"].capitalize() if spec["design"]["method"] == "sobol" else "eFAST"
        note = t["drivers_sobol"].format(method=method, experiment=spec["name"], outcome=outcome_label)
    fig.update_yaxes(automargin=True)
    return Drivers([Panel("", _look(fig, page, 140 + 45 * len(rows)))], [], note, [])


def most_uncertain(uncertainties: list[Uncertainty], count: int = OAT_PARAMETERS) -> list[Uncertainty]:
    """The `count` uncertainties with the widest range relative to its midpoint."""
    width = [(u.high - u.low) / abs((u.high + u.low) / 2) for u in uncertainties]
    order = sorted(range(len(uncertainties)), key=lambda i: -width[i])
    return [uncertainties[i] for i in order[:count]]


def one_at_a_time(
    results: ComparisonResults,
    uncertainties: list[Uncertainty],
    replicates: int,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """NPV at 3.5 % of every alternative with each uncertainty at its low and high value (others unchanged),
    and with none changed, under the comparison's replicate seeds; cached in the folder (never overwritten)."""
    key = hashlib.sha256(
        json.dumps(
            [[u.model_dump() for u in uncertainties], replicates, results.manifest["seed"]]
            + [s["content_hash"] for s in results.manifest["scenarios"]],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:12]
    cache = results.folder / f"drivers_oat-{key}.csv"
    if cache.is_file():
        return pd.read_csv(cache)
    settings: list[tuple[str, str, float]] = [("", "none", math.nan)]
    settings += [(u.path, level, getattr(u, level)) for u in uncertainties for level in ("low", "high")]
    relative = {u.path: u.relative for u in uncertainties}
    variants = []
    for path, _, value in settings:
        for s in results.scenarios:
            variants.append(s if not path else s.with_values({path: value}, relative=relative[path]))
    if on_start:
        on_start(len(variants) * replicates)
    runs = simulate_many(variants, replicates, results.manifest["seed"], workers, on_done)
    n = len(results.scenarios)
    rows = []
    for i, (path, level, value) in enumerate(settings):
        economics = Comparison(runs[i * n : (i + 1) * n]).economics()
        npv = economics[NPV].groupby(level="scenario", sort=False).mean()
        rows += [{"parameter": path, "setting": level, "value": value, "scenario": s, NPV: npv[s]} for s in npv.index]
    frame = pd.DataFrame(rows)
    write_atomically(cache, lambda path: frame.to_csv(path, index=False))
    return frame


def drivers_one_at_a_time(
    page: Page, frame: pd.DataFrame, uncertainties: list[Uncertainty], replicates: int
) -> Drivers:
    """A tornado chart per alternative: change of its NPV with each uncertainty at its low and high value."""
    t = page.t
    # the label in short lines (a phone's width leaves room for the bars), then its range: "Familienhebamme:
    # Halbwertszeit der<br>Schutzwirkung<br>(12 bis 180)"
    labels = {
        u.path: "<br>".join([*textwrap.wrap(page.label_of(u.path), LABEL_CHARACTERS), f"({_range_text(page, u)})"])
        for u in uncertainties
    }
    levels = {"low": OKABE_ITO[5], "high": OKABE_ITO[3]}
    panels = []
    for name in page.results.alternatives:
        mine = frame[frame["scenario"] == name]
        centre = float(mine.loc[mine["setting"] == "none", NPV].iloc[0])
        change = mine[mine["setting"] != "none"].pivot(index="parameter", columns="setting", values=NPV) - centre
        change = change.loc[(change["high"] - change["low"]).abs().sort_values().index] * 1e-6
        fig = go.Figure()
        for level, colour in levels.items():
            fig.add_trace(
                go.Bar(
                    y=[labels[p] for p in change.index],
                    x=change[level],
                    orientation="h",
                    name=t[f"oat_{level}"],
                    marker_color=colour,
                )
            )
        fig.update_xaxes(
            title_text=page.fill("oat_axis", replicates=replicates),
            title_font_size=13,
            zeroline=True,
            zerolinecolor="#555555",
        )
        fig.update_yaxes(automargin=True, tickfont_size=13)
        fig.update_layout(barmode="group")  # low and high side by side: neither hides the other
        panels.append(Panel(page.title_of(name), _look(fig, page, 120 + 90 * len(uncertainties), legend=False)))
    legend = [{"colour": colour, "name": t[f"oat_{level}"], "marker": ""} for level, colour in levels.items()]
    return Drivers(panels, legend, t["drivers_oat"].format(replicates=replicates), uncertainties)


def _range_text(page: Page, u: Uncertainty) -> str:
    text = page.t["oat_range"].format(low=page.number.plain(u.low), high=page.number.plain(u.high))
    return f"× {text}" if u.relative else text


# --- the page ---------------------------------------------------------------------------------------------------


def render(page: Page, drivers: Drivers) -> str:
    """The whole briefing as one HTML document."""
    r, t = page.results, page.t
    config = {"displayModeBar": False, "responsive": True}

    def html(fig: go.Figure, name: str) -> Markup:
        return Markup(fig.to_html(full_html=False, include_plotlyjs=False, config=config, div_id=f"chart-{name}"))

    charts = {"cumulative": html(cumulative_chart(page), "cumulative")}
    grids = {
        name: [{"caption": p.caption, "html": html(p.figure, f"{name}-{i}")} for i, p in enumerate(panels)]
        for name, panels in (
            ("placements", placements_chart(page)),
            ("cost", cost_chart(page)),
            ("drivers", drivers.panels),
            ("attribution", attribution_panels(page)),
        )
    }
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA), autoescape=True, undefined=jinja2.StrictUndefined
    )
    inhabitants = r.scenarios[0].district.inhabitants.value
    differences = page.differences()
    quoted = [(u.path, u.source) for u in drivers.uncertainties]
    quoted += [(row["key"], row["source"]) for section in differences for row in section["rows"]]
    sources = [{"label": page.label_of(key), "key": key, "source": source} for key, source in dict.fromkeys(quoted)]
    return environment.get_template("briefing.html.j2").render(
        t=t,
        page=page,
        plotly_js=get_plotlyjs(),
        charts=charts,
        grids=grids,
        placements_legend=legend(page, r.alternatives),
        cost_legend=cost_legend(page),
        title=t["title"],
        subtitle=page.fill("subtitle", district=r.scenarios[0].district.name, count=len(r.alternatives)),
        made=t["made"].format(date=datetime.date.today().isoformat(), folder=r.folder.name),
        glance_lead=page.fill("glance_lead"),
        rests_on=page.fill("rests_on", replicates=r.replicates, inhabitants=page.number(inhabitants, 0)),
        alternatives=[page.title_of(n) for n in r.alternatives],
        glance=page.glance(),
        children=page.children(),
        children_lead=page.fill("children_lead"),
        summary=[page.digest(name) for name in r.alternatives],
        summary_lead=page.fill("summary_lead"),
        placements_lead=page.fill("placements_lead"),
        cost_lead=page.fill("cost_lead"),
        cumulative_lead=page.fill("cumulative_lead"),
        attribution_lead=page.fill("attribution_lead"),
        attribution_legend=attribution_legend(page),
        drivers=drivers,
        uncertainties=[{"label": page.label_of(u.path), "range": _range_text(page, u)} for u in drivers.uncertainties],
        assumptions_lead=page.fill("assumptions_lead"),
        differences=differences,
        sources=sources,
        methods=[
            *(text.format(replicates=r.replicates, first_year=r.first_year) for text in t["methods"]),
            uncertainty_text(r, t),
        ],
    )


def uncertainty_text(results: ComparisonResults, t: dict[str, Any]) -> str:
    """What the ranges and chances cover: replicate noise only, or parameter uncertainty too (manifest.json)."""
    if results.manifest.get("uncertainty") != mode(True):
        return t["uncertainty_noise"]
    numbers = {path for s in results.scenarios for path, _ in uncertain_numbers(s)}
    text = t["uncertainty_parameters"].format(count=len(numbers))
    ensemble = results.manifest.get("ensemble")  # a calibrated district's parameter sets (`model.ensemble`)
    if ensemble:
        text += " " + t["uncertainty_ensemble"].format(sets=ensemble["parameter_sets"], file=ensemble["file"])
    return text


def write_briefing(
    folder: Path,
    lang: str = "de",
    sensitivity: Path | None = None,
    uncertainties_file: Path | None = None,
    oat_replicates: int = 4,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[int], None] | None = None,
    output: Path | None = None,
) -> Path:
    """Write the briefing of the comparison in `folder`; refuse to overwrite an existing file."""
    if lang not in LANGUAGES:
        raise ScenarioError([f"--lang: {lang!r}: allowed are {', '.join(LANGUAGES)}"])
    results = read_comparison(folder)
    target = output or folder / BRIEFING_FILES[lang]
    if target.exists():
        raise ScenarioError([f"{target}: exists; results are never overwritten (give --output, or move it away)"])
    writable_folder(target.parent)  # before the one-at-a-time runs
    page = Page(results, lang)
    if sensitivity is not None:
        drivers = drivers_from_experiment(page, sensitivity)
    else:
        shipped = [DEFAULT_UNCERTAINTIES.parent.parent]  # the default names ../scenarios/
        experiment = load_experiment(uncertainties_file or DEFAULT_UNCERTAINTIES, [] if uncertainties_file else shipped)
        chosen = most_uncertain(experiment.spec.uncertainties)
        frame = one_at_a_time(results, chosen, oat_replicates, workers, on_start, on_done)
        drivers = drivers_one_at_a_time(page, frame, chosen, oat_replicates)
    return write_text(target, render(page, drivers), overwrite=False)
