"""Calibrating a district: its own figures (`model.district`) in, a scenario that extends the national fit out.

District inputs are taken as they are (inhabitants, shares of young residents, caseworkers, daily rates and
monthly costs, the latest year given). Mechanism parameters (`default_free`: a subset of the national fit in
experiments/calibrate.py, the help mix, the arrivals of unaccompanied minors) are fitted with Optuna's
multivariate TPE sampler over log-parameters, starting at the values of the scenario the district file extends
and penalised for their log-distance from them (a prior). Every trial runs the same replicate seeds (common
random numbers), so differences between trials are the parameters'.

The objective is a Gaussian negative log-likelihood on the log scale plus the prior:

    loss = 1/2 sum_figures z^2 + 1/2 sum_parameters ((log p - log p_national) / PRIOR_SD_LOG)^2
    z = (log model - log local) / sqrt(sd_local^2 + sd_model^2)

with sd_local = 1/sqrt(count) (`district.local_figures`) and sd_model the replicate standard error of the
model's mean. Trials within GOOD_TRIAL_MARGIN of the best loss form the ensemble (the parameter sets that fit).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from model.district import DistrictFile, LocalFigure, latest, local_figures
from model.ensemble import is_probability, parameter_value, with_parameters
from model.parameters import DAYS_PER_MONTH
from model.run import SimulationResult, simulate_many
from model.scenario import STATISTICS, Scenario, ScenarioError, inside_allowed, load_scenario

DEFAULT_FREE = (  # mechanisms a district's figures inform; the others keep the national fit
    "burden.shock_hazard_per_month",
    "detection.report_hazard_per_month_by_level[2]",
    "detection.report_hazard_per_month_by_level[3]",
    "detection.self_referral_hazard_per_month_by_level[1]",
    "detection.self_referral_hazard_per_month_by_level[2]",
    "policy.placement_probability_level_4",
    "policy.placement_probability_after_failed_help",
)
# assumption: placement rates of German districts spread over a factor of ten (29 to 345 per 10,000 under 21 in
# 2022, AKJStat, issue 18), so a district's mechanism lies within a factor 3 of the national one at one SD.
PRIOR_SD_LOG = math.log(3)
SEARCH_FACTOR = 5.0  # the search range: the national value / 5 .. x 5 (a probability at most 1)
GOOD_TRIAL_MARGIN = 1.92  # chi-square 95 % quantile of 1 degree of freedom / 2: a likelihood-ratio set
MISFIT_TOLERANCE = 0.15  # the issue: every figure within +-15 %
PROJECTION_YEARS = 5  # the report shows the fitted district this many years beyond its last figure
BAND = (0.05, 0.95)
ARRIVALS = "unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year"
# The year whose national rate the base scenario's arrivals hold (baseline.toml: germany.toml inobhutnahme_42, 2023):
# the national series by year is scaled to it.
ARRIVALS_ANCHOR_YEAR = 2023
SERIES = "inobhutnahme_42_unaccompanied_arrival"  # the table of germany.toml with the national series by year


def default_free(district: DistrictFile, base: Scenario) -> list[str]:
    """DEFAULT_FREE, the help mix where the district gives figures by help type (a factor on the choice weights of
    each help granted by the office: `weight_by_age_band`), and the arrivals of unaccompanied minors where it
    gives all Inobhutnahmen (they vary by year and district more than any mechanism)."""
    statistics = {*district.cases, *district.begun, *district.stock_31_dec}
    mix = [
        f"helps.{s}.weight_by_age_band"
        for s in STATISTICS
        if s in statistics and s in base.helps and base.helps[s].access in ("help_plan", "placement")
    ]
    arrivals = [ARRIVALS] if district.inobhutnahmen.total else []
    return [*DEFAULT_FREE, *(mix if len(mix) > 1 else []), *arrivals]  # one help's weight alone is not identified


def national_arrivals() -> dict[int, float]:
    """Inobhutnahmen after unaccompanied arrival in Germany by year (germany.toml, each year with its source)."""
    from model.calibration import reference

    return {int(year): float(n) for year, n in reference()[SERIES]["by_year"].items()}


def with_arrivals_series(scenario: Scenario) -> Scenario:
    """The scenario with the arrivals of unaccompanied minors following the national series by year: its rate in
    ARRIVALS_ANCHOR_YEAR times national(year) / national(anchor), as `value` (the series' first year, holding
    before it) and `by_year` (holding after the last year). Assumption: the population under 21 is constant over
    the series (Germany's changed by a few per cent, the arrivals by a factor of twenty)."""
    series = national_arrivals()
    level = scenario.unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year.at(ARRIVALS_ANCHOR_YEAR)
    rates = {year: level * n / series[ARRIVALS_ANCHOR_YEAR] for year, n in sorted(series.items())}
    first = min(rates)
    data = scenario.model_dump(mode="python")
    node = data["unaccompanied_minors"]["crisis_intakes_per_10k_under_21_per_year"]
    node["value"] = rates[first]
    node["by_year"] = {year: rate for year, rate in rates.items() if year > first}
    scaled = f"x national(year) / national({ARRIVALS_ANCHOR_YEAR})"
    node["source"] = f"{node['source']}; by year as germany.toml {SERIES}.by_year {scaled}"
    node["uncertainty"] = None
    return Scenario.model_validate(data)


def applied(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """`with_parameters`, except the arrivals: a factor on their series (value and `by_year`, see
    `with_arrivals_series`), 1 being the national series scaled to the base's rate."""
    scenario = with_parameters(scenario, {p: v for p, v in values.items() if p != ARRIVALS})
    return scenario.with_values({ARRIVALS: values[ARRIVALS]}, relative=True) if ARRIVALS in values else scenario


def base_file(district_path: Path, district: DistrictFile) -> Path:
    """The scenario file the district file extends (relative to the district file, inside the allowed folders)."""
    return inside_allowed(district_path.resolve(), "extends", district.extends)


def district_inputs(district: DistrictFile, base: Scenario, file: str) -> dict[str, tuple[float, str]]:
    """Numbers taken from the district file as they are: key path -> (value, source)."""
    pop = district.population
    inhabitants, under_21 = latest(pop.inhabitants), latest(pop.under_21)
    said = f"district file {file}: population"  # the district's own figure, cited there
    inputs = {
        "district.inhabitants": (inhabitants.value, f"{said}.inhabitants {inhabitants.year}: {inhabitants.source}"),
        "district.under_21_share": (
            under_21.value / inhabitants.value,
            f"{said}.under_21 {under_21.year} / inhabitants {inhabitants.year}: {under_21.source}",
        ),
    }
    minors = latest(pop.minors)
    groups = [latest(pop.under_21_by_age.get(group)) for group in ("0-5", "6-11", "12-17")]
    if minors:
        inputs["district.minors_share"] = (
            minors.value / inhabitants.value,
            f"{said}.minors {minors.year}: {minors.source}",
        )
    elif all(groups):
        inputs["district.minors_share"] = (
            sum(g.value for g in groups) / inhabitants.value,
            f"{said}.under_21_by_age 0-5 + 6-11 + 12-17 / inhabitants: {groups[0].source}",
        )
    else:
        ratio = base.district.minors_share.value / base.district.under_21_share.value
        inputs["district.minors_share"] = (
            inputs["district.under_21_share"][0] * ratio,
            f"assumption: no minors in {file}; the ratio minors / under 21 of {base.name} ({ratio:.4f})",
        )
    staff = latest(district.staff.caseworkers_fte)
    if staff:
        inputs["youth_office.caseworkers_fte"] = (
            staff.value,
            f"district file {file}: staff.caseworkers_fte {staff.year}: {staff.source}",
        )
    problems = []
    for section, per_day in (("daily_rates_eur", True), ("monthly_costs_eur", False)):
        for statistic, series in getattr(district, section).items():
            help_ = base.helps.get(statistic)
            if help_ is None:
                problems.append(f"{file}: {section}.{statistic}: {base.name} has no help of this name")
                continue
            figure = latest(series)
            source = f"district file {file}: {section}.{statistic} {figure.year}: {figure.source}"
            if help_.cost_per_day_eur is not None:
                value = figure.value if per_day else figure.value / DAYS_PER_MONTH
                inputs[f"helps.{statistic}.cost_per_day_eur"] = (
                    value,
                    source if per_day else f"{source} / {DAYS_PER_MONTH:.3f} days",
                )
            else:
                value = figure.value * DAYS_PER_MONTH if per_day else figure.value
                inputs[f"helps.{statistic}.cost_per_month_eur"] = (
                    value,
                    source if not per_day else f"{source} x {DAYS_PER_MONTH:.3f} days",
                )
    if problems:
        raise ScenarioError(problems)
    return inputs


def fitting_scenario(
    base: Scenario, inputs: dict[str, tuple[float, str]], years: list[int], extra_years: int = 0
) -> Scenario:
    """The base with the district's inputs, simulated over the years of the local figures (plus `extra_years`)."""
    scenario = base.with_values({key: value for key, (value, _) in inputs.items()})
    simulation = scenario.simulation.model_copy(
        update={"start_year": min(years), "horizon_years": max(years) - min(years) + 1 + extra_years}
    )
    return scenario.model_copy(update={"simulation": simulation})


def model_figures(result: SimulationResult) -> pd.DataFrame:
    """The run's yearly figures (`SimulationResult.yearly`) plus helps begun per 10,000 under 21 (the statistics'
    begun figures are counts; as rates they compare across district sizes)."""
    yearly = result.yearly()
    wide = result.wide()
    months = wide.index.get_level_values("month")
    under_21 = (
        wide["under_21"].groupby([wide.index.get_level_values("replicate"), months // 12 + result.start_year]).last()
    )
    under_21.index = yearly.index
    begun = {c.removeprefix("begun_"): yearly[c] for c in yearly if c.startswith("begun_") and "unaccompanied" not in c}
    per_10k = pd.DataFrame({f"begun_per_10k_{name}": column / under_21 * 10_000 for name, column in begun.items()})
    return pd.concat([yearly, per_10k], axis=1)


@dataclass
class Comparison:
    """Per local figure and year: the local value, the model's mean and band over replicates."""

    rows: pd.DataFrame  # figure, year, unit, local, model, low, high, ratio, z, source

    def misses(self) -> pd.DataFrame:
        """Figures whose model mean over their years is off the local mean by more than MISFIT_TOLERANCE."""
        by_figure = self.per_figure()
        return by_figure[by_figure["deviation"].abs() > MISFIT_TOLERANCE]

    def per_figure(self) -> pd.DataFrame:
        grouped = self.rows.groupby("figure", sort=False)
        table = grouped[["local", "model"]].mean()
        table["deviation"] = table["model"] / table["local"] - 1
        return table.reset_index()


def compare_figures(frame: pd.DataFrame, figures: list[LocalFigure]) -> Comparison:
    rows = []
    for f in figures:
        values = frame[f.model_figure].xs(f.year, level="year").to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        mean = float(values.mean()) if len(values) else math.nan
        sd_model = (
            float(values.std(ddof=1)) / mean / math.sqrt(len(values)) if len(values) > 1 and mean > 0 else f.sd_log
        )
        floor = f.value * 1e-3  # a model that never produces the figure is far off, but not infinitely
        z = (math.log(max(mean, floor) if mean == mean else floor) - math.log(max(f.value, 1e-9))) / math.hypot(
            f.sd_log, sd_model
        )
        low, high = (float(np.quantile(values, q)) if len(values) else math.nan for q in BAND)
        rows.append(
            (f.name, f.year, f.unit, f.value, mean, low, high, mean / f.value if f.value else math.nan, z, f.source)
        )
    columns = ["figure", "year", "unit", "local", "model", "low", "high", "ratio", "z", "source"]
    return Comparison(pd.DataFrame(rows, columns=columns))


@dataclass
class Fit:
    district: DistrictFile
    file: str  # the district file as given
    base: Scenario
    base_path: Path
    inputs: dict[str, tuple[float, str]]
    start: dict[str, float]  # the base's values of the free parameters (the prior's centre)
    trials: pd.DataFrame  # one row per trial: number, loss, misfit, prior, then the free parameters
    best: dict[str, float]
    comparison: Comparison
    projection: pd.DataFrame  # model_figures of the best parameters, over the figures' years and PROJECTION_YEARS
    replicates: int
    seed: int
    seconds: float

    @property
    def ensemble(self) -> pd.DataFrame:
        """The trials that fit: loss within GOOD_TRIAL_MARGIN of the best (the best among them)."""
        good = self.trials[self.trials["loss"] <= self.trials["loss"].min() + GOOD_TRIAL_MARGIN]
        return good.sort_values("loss").reset_index(drop=True)

    def uncertainty(self) -> pd.DataFrame:
        """Per free parameter: start, fitted, and the range over the ensemble."""
        ensemble = self.ensemble
        return pd.DataFrame(
            [
                (name, self.start[name], self.best[name], float(ensemble[name].min()), float(ensemble[name].max()))
                for name in self.best
            ],
            columns=["parameter", "start", "fitted", "ensemble_min", "ensemble_max"],
        )


def fit_district(
    district: DistrictFile,
    file: str,
    base_path: Path,
    free: list[str] | None = None,
    replicates: int = 4,
    seed: int = 12345,
    budget_s: float = 600.0,
    max_trials: int | None = None,
    workers: int = 1,
    on_trial: Callable[[int, float, float], None] | None = None,
) -> Fit:
    """Fit the free parameters to the district's figures (see the module's doc); `on_trial(trials, best loss,
    seconds)` after each batch of `workers` trials. Stops when `budget_s` or `max_trials` is reached."""
    import optuna

    started = time.perf_counter()
    base = load_scenario(base_path)
    figures = local_figures(district)
    if not figures:
        raise ScenarioError([f"{file}: no figure to fit: give at least one of cases, begun, stock_31_dec, ..."])
    inputs = district_inputs(district, base, file)
    years = sorted({f.year for f in figures})
    fitting = fitting_scenario(base, inputs, years)
    missing = sorted({f.model_figure for f in figures} - set(_figure_names(fitting)))
    if missing:
        raise ScenarioError([f"{file}: {name}: {base.name} counts no help in this category" for name in missing])
    free = list(free or default_free(district, base))
    if ARRIVALS in free:  # fitted as a factor on the national series by year (`with_arrivals_series`)
        fitting = with_arrivals_series(fitting)
    start = {path: 1.0 if path == ARRIVALS else parameter_value(fitting, path) for path in free}
    bad = [p for p, v in start.items() if v <= 0]
    if bad:
        raise ScenarioError(
            [f"{base_path}: {p}: 0 cannot be fitted on the log scale; leave it out of --fit" for p in bad]
        )
    ranges = {
        p: (v / SEARCH_FACTOR, min(v * SEARCH_FACTOR, 1.0) if is_probability(p) else v * SEARCH_FACTOR)
        for p, v in start.items()
    }
    distributions = {
        p: optuna.distributions.FloatDistribution(low, high, log=True) for p, (low, high) in ranges.items()
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True)
    )  # joint: mechanisms trade off
    study.enqueue_trial(start)  # the national fit is the first trial
    records: list[dict] = []
    best: tuple[float, dict[str, float]] = (math.inf, start)
    while time.perf_counter() - started < budget_s and (max_trials is None or len(records) < max_trials):
        batch = [study.ask(distributions) for _ in range(min(workers, (max_trials or 10**9) - len(records)))]
        values = [dict(t.params) for t in batch]
        scenarios = [applied(fitting, v) for v in values]
        results = simulate_many(scenarios, replicates, seed, workers, shared_past=False)
        for trial, params, result in zip(batch, values, results, strict=True):
            comparison = compare_figures(model_figures(result), figures)
            misfit = 0.5 * float((comparison.rows["z"] ** 2).sum())
            prior = 0.5 * sum((math.log(params[p] / start[p]) / PRIOR_SD_LOG) ** 2 for p in free)
            study.tell(trial, misfit + prior)
            records.append({"trial": trial.number, "loss": misfit + prior, "misfit": misfit, "prior": prior, **params})
            if misfit + prior < best[0]:
                best = (misfit + prior, params)
        if on_trial:
            on_trial(len(records), best[0], time.perf_counter() - started)
    projecting = fitting_scenario(base, inputs, years, PROJECTION_YEARS)
    projecting = with_arrivals_series(projecting) if ARRIVALS in free else projecting
    final = simulate_many([applied(projecting, best[1])], replicates, seed, workers)[0]
    projection = model_figures(final)
    return Fit(
        district,
        file,
        base,
        base_path,
        inputs,
        start,
        pd.DataFrame(records),
        best[1],
        compare_figures(projection, figures),
        projection,
        replicates,
        seed,
        time.perf_counter() - started,
    )


def _figure_names(scenario: Scenario) -> list[str]:
    """The model figures a scenario's catalogue yields (without running it: a one-month run's columns)."""
    from model.calibration import yearly_figures
    from model.parameters import Catalogue
    from model.recorder import Recorder

    catalogue = Catalogue.of(scenario)
    metrics = Recorder(catalogue, months=0).metrics
    frame = pd.DataFrame(np.ones((12, len(metrics))), columns=metrics)
    names = list(yearly_figures(frame, catalogue))
    return names + [f"begun_per_10k_{n.removeprefix('begun_')}" for n in names if n.startswith("begun_")]


# --- what is written ---------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _number(value: float) -> str:
    return f"{value:.6g}"


def scenario_text(fit: Fit, out_folder: Path) -> str:
    """The calibrated district scenario: extends the base, the district's inputs and fitted values with sources."""
    today = date.today().isoformat()
    calibrated = f"calibrated to {fit.file}, {today}"
    values: dict[str, tuple[str, str]] = {key: (_number(v), source) for key, (v, source) in fit.inputs.items()}
    series = ARRIVALS in fit.best
    fitted = dict(applied(with_arrivals_series(fit.base) if series else fit.base, fit.best).parameters())
    for name in dict.fromkeys(path.partition("[")[0] for path in fit.best):
        if name == ARRIVALS:
            anchor = fit.base.unaccompanied_minors.crisis_intakes_per_10k_under_21_per_year.at(ARRIVALS_ANCHOR_YEAR)
            by_year = ", ".join(f"{year} = {_number(v)}" for year, v in fitted[name].by_year.items())
            values[name] = (
                f"{_number(fitted[name].value)}, by_year = {{ {by_year} }}",
                f"{calibrated} (x {fit.best[name]:.4g} on the national series germany.toml {SERIES}.by_year, scaled "
                f"to {fit.base.name}'s {ARRIVALS_ANCHOR_YEAR} rate {anchor:.4g})",
            )
            continue
        if not isinstance(fitted[name].value, list):
            values[name] = (_number(fitted[name].value), calibrated)
            continue
        elements = sorted(int(p.partition("[")[2].rstrip("]")) for p in fit.best if p.startswith(name + "["))
        how = (
            f"elements {elements}; the others: {fit.base.name}"
            if elements
            else f"x {fit.best[name]:.4g} on {fit.base.name}"
        )
        values[name] = ("[" + ", ".join(_number(v) for v in fitted[name].value) + "]", f"{calibrated} ({how})")
    shown = _toml_string(fit.district.district_name)
    relative = os.path.relpath(fit.base_path.resolve(), out_folder.resolve())
    lines = [
        f"# Written by `prevsim calibrate {fit.file}` on {today}: the district's figures on top of {fit.base.name}.",
        f"# {len(fit.trials)} trials of {fit.replicates} replicates, seed {fit.seed}, {fit.seconds:.0f} s. Parameter",
        f"# sets that fit: {fit.district.name}.ensemble.csv; the fit report: .fit.html (docs/districts.md).",
        *(
            f"# Written with --accept-misfit: {r.figure} {r.deviation:+.0%} (model {r.model:.4g}, local {r.local:.4g})"
            for r in fit.comparison.misses().itertuples()
        ),
        f"name = {_toml_string(fit.district.name)}",
        f"description = {_toml_string(fit.district.description)}",
        f"title = {{ de = {shown}, en = {shown} }}",
        f"extends = {_toml_string(relative)}",
        "",
        "[district]",
        f"name = {_toml_string(fit.district.district_name)}",
    ]
    tables: dict[str, list[str]] = {}
    for path, (value, source) in values.items():
        *table, key = path.split(".")
        tables.setdefault(".".join(table), []).append(f"{key} = {{ value = {value}, source = {_toml_string(source)} }}")
    for table, rows in tables.items():
        if table != "district":
            lines += ["", f"[{table}]"]
        lines += rows
    return "\n".join(lines) + "\n"


def ensemble_frame(fit: Fit) -> pd.DataFrame:
    """The ensemble as written (`<district>.ensemble.csv`): one row per parameter set that fits, the best first;
    columns: trial, loss, weight (exp(best loss - loss), normalised), then one column per fitted key path (a
    vector's factor and the arrivals' factor on their series relative to the best); `model.ensemble.Ensemble`
    applies a row as factors on the best row to the written scenario."""
    ensemble = fit.ensemble
    weight = np.exp(ensemble["loss"].min() - ensemble["loss"])
    columns = ["trial", "loss", *fit.best]
    table = ensemble[columns].copy()
    table.insert(2, "weight", weight / weight.sum())
    vectors = {name for name, p in fit.base.parameters() if isinstance(p.value, list)}
    for path in fit.best:
        if path in vectors or path == ARRIVALS:  # a factor: relative to the written scenario, which has the best
            table[path] = table[path] / fit.best[path]
    return table


def report_html(fit: Fit) -> str:
    """The fit report as one offline HTML page: each local figure against the model's mean and band over the
    figures' years and PROJECTION_YEARS beyond, the per-figure deviations and the fitted parameters."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from model.charts import HTML_CONFIG, OKABE_ITO

    rows = fit.comparison.rows
    names = list(dict.fromkeys(rows["figure"]))
    columns = 2 if len(names) > 1 else 1
    fig = make_subplots(rows=math.ceil(len(names) / columns), cols=columns, subplot_titles=names)
    years = sorted(set(fit.projection.index.get_level_values("year")))
    for i, name in enumerate(names):
        local = rows[rows["figure"] == name]
        column = fit.projection[_model_figure(fit, name)]
        by_year = column.groupby(level="year")
        where = {"row": i // columns + 1, "col": i % columns + 1}
        low, high = by_year.quantile(BAND[0]), by_year.quantile(BAND[1])
        band_x = years + years[::-1]
        fig.add_trace(
            go.Scatter(
                x=band_x,
                y=[*high.reindex(years), *low.reindex(years)[::-1]],
                fill="toself",
                line={"width": 0},
                fillcolor="rgba(0,114,178,0.2)",
                name="model 5-95 %",
                showlegend=i == 0,
            ),
            **where,
        )
        fig.add_trace(
            go.Scatter(
                x=years,
                y=by_year.mean().reindex(years),
                line={"color": OKABE_ITO[0]},
                name="model mean",
                showlegend=i == 0,
            ),
            **where,
        )
        fig.add_trace(
            go.Scatter(
                x=local["year"],
                y=local["local"],
                mode="markers",
                marker={"size": 10, "color": OKABE_ITO[3]},
                name="district figure",
                showlegend=i == 0,
            ),
            **where,
        )
    fig.update_layout(height=320 * math.ceil(len(names) / columns), template="plotly_white")
    per_figure = fit.comparison.per_figure()
    per_figure["within ±15 %"] = per_figure["deviation"].abs() <= MISFIT_TOLERANCE
    per_figure["deviation"] = per_figure["deviation"].map(lambda d: f"{d:+.1%}")
    tables = per_figure.to_html(index=False, float_format=lambda v: f"{v:,.4g}") + fit.uncertainty().to_html(
        index=False, float_format=lambda v: f"{v:.4g}"
    )
    chart = fig.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False, config=HTML_CONFIG)
    title = f"Fit of {fit.district.district_name} ({fit.file})"
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>"
        f"<h1>{title}</h1><p>{len(fit.trials)} trials, {fit.replicates} replicates each (seed {fit.seed}), "
        f"{fit.seconds:.0f} s. Points: the district's figures; line and band: the fitted model's mean and 5-95 % "
        "over replicates (replicate noise only, not the parameters' uncertainty), continued "
        f"{PROJECTION_YEARS} years beyond the last figure. Rates per 10,000 residents under 21.</p>"
        f"{chart}<h2>Figures: mean over their years</h2>{tables}</body></html>"
    )


def _model_figure(fit: Fit, name: str) -> str:
    return next(f.model_figure for f in local_figures(fit.district) if f.name == name)
