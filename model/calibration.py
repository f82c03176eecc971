"""Calibration targets from the national statistics, and the model's figures counted the same way.

Targets are read from model/data/germany.toml (a copy of the project's reference file). Rates are per
10,000 residents under 21 and per year; "cases" are counted as the HzE statistics count them: stock on
31 Dec plus helps ended during the year.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from model.parameters import Catalogue
from model.scenario import CATEGORIES

CALIBRATION_TOLERANCE = 0.15  # the brief: within +-15 % of the national figure


def reference() -> dict:
    """The national reference figures shipped with the package."""
    return tomllib.loads((Path(__file__).parent / "data" / "germany.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    unit: str
    source: str
    calibrated: bool  # False: a check the model was not fitted to
    figure: str | None = None  # the model's yearly figure compared, if not the one named like the target


def targets() -> list[Target]:
    ref = reference()
    u21 = ref["population"]["under_21_2023"] / 10_000
    cases = ref["hze_cases_2023"]
    a8 = ref["assessments_8a_2022"]
    itn = ref["inobhutnahme_42"]
    per10k, ref_cases = "per 10,000 under 21", "germany.toml hze_cases_2023."
    out = [
        Target("hze_cases_all", cases["total"] / u21, per10k, ref_cases + "total", True),
        Target(
            "cases_erziehungsberatung_28",
            cases["erziehungsberatung_28"] / u21,
            per10k,
            ref_cases + "erziehungsberatung_28",
            True,
        ),
        Target(
            "cases_erziehungsbeistand_30",
            cases["erziehungsbeistand_30"] / u21,
            per10k,
            ref_cases + "erziehungsbeistand_30",
            True,
        ),
        Target("cases_spfh_31", cases["spfh_31"] / u21, per10k, ref_cases + "spfh_31 (family cases)", True),
        Target(
            "cases_vollzeitpflege_33", cases["vollzeitpflege_33"] / u21, per10k, ref_cases + "vollzeitpflege_33", True
        ),
        Target("cases_heimerziehung_34", cases["heimerziehung_34"] / u21, per10k, ref_cases + "heimerziehung_34", True),
        Target(
            "new_out_of_home_placements_per_year",
            ref["hze_starts"]["new_out_of_home_placements_2022"] / u21,
            per10k,
            "germany.toml hze_starts.new_out_of_home_placements_2022",
            True,
        ),
        Target(
            "inobhutnahmen_without_unaccompanied_per_year",
            itn["without_unaccompanied_2023"] / u21,
            per10k,
            "germany.toml inobhutnahme_42.without_unaccompanied_2023",
            True,
        ),
        Target(
            "assessments_8a_endangerment_per_year",
            (a8["acute_endangerment"] + a8["latent_endangerment"]) / u21,
            per10k,
            "germany.toml assessments_8a_2022 acute + latent",
            True,
        ),
        Target(
            "mean_duration_ended_heimerziehung_34",
            ref["out_of_home_care"]["mean_duration_ended_heim_months_2022"],
            "months",
            "germany.toml out_of_home_care.mean_duration_ended_heim_months_2022",
            True,
        ),
        Target(
            "mean_duration_ended_vollzeitpflege_33",
            ref["out_of_home_care"]["mean_duration_ended_foster_months_2022"],
            "months",
            "germany.toml out_of_home_care.mean_duration_ended_foster_months_2022",
            True,
        ),
        Target(
            "mean_duration_ended_spfh_31",
            ref["spfh"]["mean_duration_ended_months_2016"],
            "months",
            "germany.toml spfh.mean_duration_ended_months_2016",
            True,
        ),
        Target(
            "hze_spending_per_resident_under_21",
            ref["spending"]["hze_incl_41_eur_2023"] / (u21 * 10_000),
            "EUR per year",
            "germany.toml spending.hze_incl_41_eur_2023",
            True,
        ),
        # checks, not fitted
        Target(
            "cases_soziale_gruppenarbeit_29",
            cases["soziale_gruppenarbeit_29"] / u21,
            per10k,
            ref_cases + "soziale_gruppenarbeit_29",
            False,
        ),
        Target("cases_tagesgruppe_32", cases["tagesgruppe_32"] / u21, per10k, ref_cases + "tagesgruppe_32", False),
        Target("cases_ise_35", cases["ise_35"] / u21, per10k, ref_cases + "ise_35", False),
        Target(
            "cases_flexible_27_2",
            (cases["flexible_27_2_family"] + cases["flexible_27_2_individual"]) / u21,
            per10k,
            ref_cases + "flexible_27_2_family + flexible_27_2_individual",
            False,
        ),
        Target(  # served during 2022: the concept of cases (stock on 31 Dec + ended), a year before the targets
            "served_heimerziehung_34_2022",
            ref["out_of_home_care"]["heim_young_people_served_during_2022"] / u21,
            per10k + ", served during the year",
            "germany.toml out_of_home_care.heim_young_people_served_during_2022",
            False,
            figure="cases_heimerziehung_34",
        ),
        Target(
            "served_vollzeitpflege_33_2022",
            ref["out_of_home_care"]["foster_young_people_served_during_2022"] / u21,
            per10k + ", served during the year",
            "germany.toml out_of_home_care.foster_young_people_served_during_2022",
            False,
            figure="cases_vollzeitpflege_33",
        ),
        Target(
            "assessments_8a_need_without_endangerment_per_year",
            a8["help_need_without_endangerment"] / u21,
            per10k,
            "germany.toml assessments_8a_2022.help_need_without_endangerment",
            False,
        ),
        Target(
            "assessments_8a_neither_per_year",
            a8["neither"] / u21,
            per10k,
            "germany.toml assessments_8a_2022.neither",
            False,
        ),
        Target(
            "ambulant_helps_ended_as_planned_share",
            ref["hze_starts"]["ended_as_planned_share_2023"],
            "share",
            "germany.toml hze_starts.ended_as_planned_share_2023 (all helps; model: ambulant, need resolved)",
            False,
        ),
    ]
    return out


PER_HELP_FIGURES = ("cases_", "stock_", "begun_", "begun_unaccompanied_", "help_months_")


AVERAGED_OVER_YEARS = (  # rates, shares and durations: their horizon figure is the mean of the years
    "hze_cases_all",
    "cases_",
    "stock_",
    "mean_duration_ended_",
    "new_out_of_home_placements_per_year",
    "inobhutnahmen_without_unaccompanied_per_year",
    "assessments_8a_",
    "hze_spending_per_resident_under_21",
    "ambulant_helps_ended_as_planned_share",
)


def summed_over_horizon(figure: str) -> bool:
    """How a yearly figure adds up over the horizon: counts and money are summed, everything else is the mean
    of the years (AVERAGED_OVER_YEARS); declared here once for summaries, comparisons and experiments."""
    return not figure.startswith(AVERAGED_OVER_YEARS)


def over_horizon(yearly: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame | pd.Series:
    """Each figure over the horizon (`summed_over_horizon`), per group of the index levels `by` (or for all
    rows: a Series)."""
    averaged = [c for c in yearly if not summed_over_horizon(c)]
    if by is None:
        total = yearly.sum()
        total[averaged] = yearly[averaged].mean()
        return total
    grouped = yearly.groupby(level=by, sort=False)
    total = grouped.sum()
    total[averaged] = grouped[averaged].mean()
    return total


class ByYear:
    """A monthly frame's columns per simulated year as NumPy arrays: `sum[name]` over the year's months,
    `last[name]` at its last month (pandas' groupby would cost more than the simulation of a small district)."""

    def __init__(self, frame: pd.DataFrame):
        year = frame.index.to_numpy() // 12
        starts = np.flatnonzero(np.r_[True, year[1:] != year[:-1]])
        values = frame.to_numpy(dtype=float)
        self.years = year[starts]
        self.column = {name: i for i, name in enumerate(frame.columns)}
        self.sums = np.add.reduceat(values, starts, axis=0)
        self.lasts = values[np.r_[starts[1:] - 1, len(values) - 1]]

    def sum(self, *names: str) -> np.ndarray:
        return self.sums[:, [self.column[n] for n in names]].sum(axis=1)

    def last(self, name: str) -> np.ndarray:
        return self.lasts[:, self.column[name]]

    def has(self, name: str) -> bool:
        return name in self.column


def yearly_figures(frame: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Figures per simulated year from one replicate's monthly frame, counted as the statistics count: per help
    (named after the help), per category of the official statistics (named after the category: the sum over
    the helps counted in it, `Help.statistic`; a help named like a category is counted in it), and for the
    district."""
    help_names = catalogue.help_names
    hze_helps = [h for h, hze in zip(help_names, catalogue.help_counts_as_hze, strict=True) if hze]
    statistics = {s: list(catalogue.helps_counted_as(s)) for s in dict.fromkeys(catalogue.help_statistic) if s}
    y = ByYear(frame)
    per10k = 10_000 / y.last("under_21")
    cases = {h: y.last(f"stock.{h}") + y.sum(f"ended.{h}") for h in help_names}
    begun = {h: y.sum(f"begun.{h}") for h in help_names}
    alone = {h: y.sum(f"begun_unaccompanied.{h}") for h in help_names}
    stock = {h: y.last(f"stock.{h}") for h in help_names}
    months = {h: y.sum(f"occupancy.{h}") for h in help_names}  # billed months of help in the year
    for statistic, helps in statistics.items():
        for table in (cases, begun, alone, stock, months):
            table[statistic] = sum(table[h] for h in helps)
    out: dict[str, np.ndarray] = {}
    out["hze_cases_all"] = sum(cases[h] for h in hze_helps) * per10k
    for h in cases:
        out[f"cases_{h}"] = cases[h] * per10k
    for h in stock:
        out[f"stock_{h}"] = stock[h] * per10k
    placed = [s for s in ("vollzeitpflege_33", "heimerziehung_34") if s in statistics]
    out["new_out_of_home_placements_per_year"] = sum((begun[s] for s in placed), np.zeros(len(y.years))) * per10k
    if "inobhutnahme_42" in statistics:
        crisis = begun["inobhutnahme_42"] - alone["inobhutnahme_42"]
        out["inobhutnahmen_without_unaccompanied_per_year"] = crisis * per10k
    out["assessments_8a_endangerment_per_year"] = y.sum("assessments.acute", "assessments.latent") * per10k
    out["assessments_8a_need_without_endangerment_per_year"] = y.sum("assessments.need") * per10k
    out["assessments_8a_neither_per_year"] = y.sum("assessments.neither") * per10k
    for h in help_names:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"mean_duration_ended_{h}"] = y.sum(f"ended_months.{h}") / y.sum(f"ended.{h}")
    out["hze_spending_per_resident_under_21"] = y.sum("cost_eur.hze") / y.last("under_21")
    ambulant = [h for h in hze_helps if y.has(f"ended_resolved.{h}") and y.sum(f"ended_resolved.{h}").sum() > 0]
    resolved = y.sum(*(f"ended_resolved.{h}" for h in ambulant))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ambulant_helps_ended_as_planned_share"] = resolved / y.sum(*(f"ended.{h}" for h in ambulant))
    for h in begun:
        out[f"begun_{h}"] = begun[h]
        out[f"begun_unaccompanied_{h}"] = alone[h]
        out[f"help_months_{h}"] = months[h]
    for c in [*CATEGORIES, "total"]:
        out[f"cost_eur_{c}"] = y.sum(f"cost_eur.category.{c}" if c != "total" else "cost_eur.total")
    return pd.DataFrame(out, index=pd.Index(y.years))


def calibration_table(yearly: pd.DataFrame) -> pd.DataFrame:
    """Target vs model: `yearly` has one row per (replicate, year); the model figure is the mean over all rows."""
    rows = []
    for t in targets():
        column = t.figure or t.name
        if column not in yearly:
            continue
        values = yearly[column].to_numpy(dtype=float)
        per_replicate = (
            yearly.groupby(level="replicate")[column].mean() if "replicate" in yearly.index.names else yearly[column]
        )
        model = float(np.nanmean(values))
        rows.append(
            {
                "target": t.name,
                "unit": t.unit,
                "national": round(t.value, 2),
                "model": round(model, 2),
                "ratio": round(model / t.value, 3),
                "replicate_sd": round(float(per_replicate.std(ddof=1)), 2) if len(per_replicate) > 1 else np.nan,
                "calibrated": t.calibrated,
                "source": t.source,
            }
        )
    return pd.DataFrame(rows)
