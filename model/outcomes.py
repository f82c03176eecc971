"""What a programme does beside the youth-welfare budget, and how sure the figures are (`prevsim compare`).

- **Children's outcomes** per (replicate, year), counted from the monthly record (`yearly_outcomes`): child-months
  at high risk without any help and at the endangerment level, §8a endangerments, crisis intakes and placements
  of resident children, families reached by prevention. `Comparison.table` reports their paired differences as
  it does every other figure.
- **Per family**, in the form WSIPP reports: cost per family reached, per placement avoided, per child-year at high
  risk avoided (`per_family`); not a number where nothing is avoided or the change is within the replicates' noise.
- **The societal perspective**: the budget's cash flows plus the follow-up costs outside youth welfare of the
  endangerment (counted in endangered child-months) and placements a programme avoids (`FollowUpCosts`,
  `societal_economics`); never mixed with the budget's figures: every societal figure ends in `_societal`.
- **Notes** (`with_notes`): the column `note` of comparison.csv says where a figure is not shown and why, and warns
  where the replicates are too few for it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from model.calibration import ByYear
from model.parameters import Catalogue

if TYPE_CHECKING:
    from model.comparison import Comparison
    from model.run import SimulationResult

GERMANY = Path(__file__).parent / "data" / "germany.toml"
SOCIETAL = "_societal"  # the suffix of every figure of the societal perspective
SOCIETAL_LABEL = "societal perspective (adds follow-up costs outside youth welfare)"
SIGNIFICANT_Z = 1.96  # a change counts as avoided when its mean is this many standard errors from zero
MONTHS_PER_YEAR = 12

OUTCOMES = {  # yearly figure: unit
    "child_months_high_risk_without_help": "child-months per year (district)",
    "child_months_endangered": "child-months at the endangerment level (risk level 4) per year (district)",
    "endangerments_8a": "§8a endangerments found (acute + latent) per year (district)",
    "crisis_intakes_resident": "crisis intakes of resident children begun per year (district)",
    "placements_begun_resident": "placements of resident children begun per year (district)",
    "families_reached_by_prevention": "families who began a prevention service per year (district)",
}
# per family: figure -> (numerator, denominator, sign of a gain in the denominator, unit)
PER_FAMILY = {
    "cost_per_family_reached_eur": (
        "extra_spending_eur",
        "families_reached_by_prevention",
        1.0,
        "EUR extra early spending per extra family reached by prevention (over the horizon, undiscounted)",
    ),
    "cost_per_placement_avoided_eur": (
        "cost_eur_total",
        "placements_begun_resident",
        -1.0,
        "EUR net cost per placement avoided (over the horizon, undiscounted; negative: saves money as well)",
    ),
    "cost_per_child_year_high_risk_avoided_eur": (
        "cost_eur_total",
        "child_months_high_risk_without_help",
        -1.0 / MONTHS_PER_YEAR,
        "EUR net cost per child-year at high risk without help avoided (over the horizon, undiscounted; "
        "negative: saves money as well)",
    ),
}


def yearly_outcomes(result: SimulationResult) -> pd.DataFrame:
    """Children's outcomes (OUTCOMES) per (replicate, calendar year) of one scenario's runs. Crisis intakes and
    placements are helps begun in the catalogue roles `crisis` and `placement` (parameters.ROLES), without
    unaccompanied minors (their arrival is the same in every scenario, and no programme at home reaches them)."""
    cat: Catalogue = result.catalogue
    frames = []
    for replicate, values in enumerate(result.values):
        y = ByYear(pd.DataFrame(values, columns=result.metrics))

        def resident_begun(role: str, y: ByYear = y) -> np.ndarray:
            helps = cat.helps_in_role(role)
            return y.sum(*(f"begun.{h}" for h in helps)) - y.sum(*(f"begun_unaccompanied.{h}" for h in helps))

        outcomes = {
            "child_months_high_risk_without_help": y.sum("families.high_risk_without_help"),
            "child_months_endangered": y.sum("families.level_4"),  # residents: found by the office or not
            "endangerments_8a": y.sum("assessments.acute", "assessments.latent"),
            "crisis_intakes_resident": resident_begun("crisis"),
            "placements_begun_resident": resident_begun("placement"),
            "families_reached_by_prevention": y.sum(*(f"prevention_begun.{s}" for s in cat.prevention_names)),
        }
        index = pd.MultiIndex.from_product([[replicate], y.years + result.start_year], names=["replicate", "year"])
        frames.append(pd.DataFrame(outcomes, index=index))
    return pd.concat(frames)


@dataclass(frozen=True)
class FollowUpCosts:
    """Follow-up costs outside youth welfare per case, EUR (germany.toml follow_up_costs_outside_youth_welfare)."""

    per_endangerment_eur: float
    per_placement_eur: float

    @classmethod
    def from_reference(cls, path: Path = GERMANY) -> FollowUpCosts:
        section = tomllib.loads(path.read_text(encoding="utf-8"))["follow_up_costs_outside_youth_welfare"]
        return cls(float(section["per_endangerment_eur"]), float(section["per_placement_eur"]))

    def avoided_eur(self, differences: pd.DataFrame, endangered_months_per_case: float) -> pd.Series:
        """The follow-up costs avoided per row of paired differences of OUTCOMES (positive: fewer cases). A case
        of endangerment is `endangered_months_per_case` child-months at the endangerment level (the reference's
        ratio of such months to endangerments found): counting the time children are endangered, not the cases
        the office finds, a programme that finds more endangerment is not charged for finding it."""
        return -(
            differences["child_months_endangered"] / endangered_months_per_case * self.per_endangerment_eur
            + differences["placements_begun_resident"] * self.per_placement_eur
        )


def endangered_months_per_case(reference: pd.DataFrame) -> float:
    """Child-months at the endangerment level per endangerment found in the reference's outcomes (all replicates
    and years; NaN when it found none: then a case has no measure in months)."""
    found = reference["endangerments_8a"].sum()
    return float(reference["child_months_endangered"].sum() / found) if found > 0 else np.nan


def societal_economics(comparison: Comparison, costs: FollowUpCosts | None = None) -> pd.DataFrame:
    """Per (scenario, replicate): the follow-up costs avoided outside youth welfare (present value at 3.5 %), and
    NPV at every rate, benefit-cost ratio and chance it pays with them added to the budget's savings."""
    from model.comparison import BASE_RATE, DISCOUNT_RATES, npv_key  # this module builds on the comparison

    costs = costs or FollowUpCosts.from_reference()
    per_case = endangered_months_per_case(yearly_outcomes(comparison.reference))
    avoided = costs.avoided_eur(comparison.outcome_differences(), per_case)
    budget = comparison.cash_flows()
    rows = {}
    for key, flows in budget.groupby(level=["scenario", "replicate"], sort=False):
        t = flows.index.get_level_values("year").to_numpy() - comparison.reference.start_year
        extra = avoided.loc[flows.index].to_numpy()
        net, spending, savings = (flows[c].to_numpy() for c in ("net_saving_eur", "extra_spending_eur", "savings_eur"))
        row = {npv_key(rate) + SOCIETAL: float((net + extra) @ (1 + rate) ** -t) for rate in DISCOUNT_RATES}
        discount = (1 + BASE_RATE) ** -t
        spending_pv, savings_pv = float(spending @ discount), float((savings + extra) @ discount)
        row["follow_up_savings_pv_eur" + SOCIETAL] = float(extra @ discount)
        row["benefit_cost_ratio" + SOCIETAL] = savings_pv / spending_pv if spending_pv > 0 else np.nan
        row["savings_exceed_spending" + SOCIETAL] = float(savings_pv > spending_pv)
        rows[key] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index = pd.MultiIndex.from_tuples(out.index, names=["scenario", "replicate"])
    return out


def societal_units(figures: list[str]) -> dict[str, str]:
    """The unit of each societal figure, saying which perspective it is."""
    units = {}
    for f in figures:
        if f.startswith("benefit_cost_ratio"):
            unit = "ratio (savings incl. follow-up costs avoided / extra spending, PV at 3.5 %)"
        elif f.startswith("savings_exceed_spending"):
            unit = "share of replicates (PV at 3.5 %)"
        else:
            unit = "EUR, present value at start year"
        units[f] = f"{unit}; {SOCIETAL_LABEL}"
    return units


def per_family(table: pd.DataFrame, scenarios: list[str], replicates: int) -> pd.DataFrame:
    """Rows of comparison.csv (year `horizon`) with the per-family figures of each scenario: the mean of the
    numerator over the mean of the gain in the denominator. Where the gain is not significantly above zero
    (SIGNIFICANT_Z standard errors; or a single replicate) the figure is NaN and its note says why."""
    rows = []
    for scenario in scenarios:
        for figure, (numerator, denominator, sign, unit) in PER_FAMILY.items():
            gain = table.loc[(scenario, "horizon", denominator)]
            mean, se = sign * gain["mean"], abs(sign) * gain["se"]
            top = table.loc[(scenario, "horizon", numerator), "mean"]
            if replicates < 2 or not np.isfinite(se):
                value, note = np.nan, "not shown: one replicate has no standard error"
            elif mean <= 0 or mean < SIGNIFICANT_Z * se:
                value, note = (
                    np.nan,
                    f"not shown: nothing avoided or reached beyond the replicates' noise ({denominator})",
                )
            else:
                value, note = top / mean, ""
            rows.append(
                {"scenario": scenario, "year": "horizon", "figure": figure, "unit": unit, "mean": value}
                | {"n": replicates, "note": note}
            )
    return pd.DataFrame(rows)


def with_notes(table: pd.DataFrame, replicates: int, horizon_years: int, last_year: int) -> pd.DataFrame:
    """comparison.csv with its column `note`: no ratio, chance or break-even year for a scenario that spends no
    more on early help; no ratio where the savings are negative (a net cost, shown by the NPV); a warning where
    the Monte Carlo standard error of a chance exceeds CHANCE_SE_LIMIT or the break-even year's 90 % interval
    reaches beyond the horizon."""
    from model.comparison import CHANCE_SE_LIMIT, chance_standard_error, replicates_for_chance

    table = table.copy()
    if "note" not in table:
        table["note"] = ""
    table["note"] = table["note"].fillna("")
    indexed = table.set_index(["scenario", "year", "figure"])
    statistics = ["mean", "se", "p05", "p50", "p95"]
    for scenario in dict.fromkeys(table["scenario"]):
        spending = indexed.loc[(scenario, "horizon", "extra_spending_pv_eur"), "mean"]
        here = (table["scenario"] == scenario) & (table["year"] == "horizon")
        savings_pv = indexed.loc[(scenario, "horizon", "savings_pv_eur"), "mean"]
        follow_up_pv = indexed.loc[(scenario, "horizon", "follow_up_savings_pv_eur" + SOCIETAL), "mean"]
        for suffix, savings in (("", savings_pv), (SOCIETAL, savings_pv + follow_up_pv)):
            ratio, chance = (
                here & (table["figure"] == "benefit_cost_ratio" + suffix),
                "savings_exceed_spending" + suffix,
            )
            if not spending > 0:
                for figure in (f"benefit_cost_ratio{suffix}", chance):
                    rows = here & (table["figure"] == figure)
                    table.loc[rows, statistics] = np.nan
                    table.loc[rows, "note"] = "n/a: no extra spending on early help, so nothing to pay back"
                continue
            if savings < 0:
                table.loc[ratio, statistics] = np.nan
                table.loc[ratio, "note"] = "none: a net cost (the savings are negative); see the net present value"
            else:  # where some replicates' savings are negative, their end of the interval is a net cost, no ratio
                for end in ("p05", "p50"):
                    table.loc[ratio & (table[end] < 0), end] = np.nan
                if table.loc[ratio, "p05"].isna().any():
                    table.loc[ratio, "note"] = "the interval's low end is a net cost (negative savings), not a ratio"
            share = indexed.loc[(scenario, "horizon", chance), "mean"]
            error = chance_standard_error(share, replicates)
            if error > CHANCE_SE_LIMIT:
                table.loc[here & (table["figure"] == chance), "note"] = (
                    f"warning: Monte Carlo standard error about {error * 100:.0f} points (over "
                    f"{CHANCE_SE_LIMIT * 100:.0f}); use --replicates {replicates_for_chance(share, replicates)} or more"
                )
        if not spending > 0:
            rows = here & table["figure"].isin(["break_even_year", "break_even_share"])
            table.loc[rows, statistics] = np.nan
            table.loc[rows, "note"] = "n/a: no extra spending on early help, so nothing to pay back"
            continue
        note = break_even_warning(indexed, scenario, horizon_years, last_year)
        if note:
            table.loc[here & (table["figure"] == "break_even_year"), "note"] = note
    return table


def break_even_warning(indexed: pd.DataFrame, scenario: str, horizon_years: int, last_year: int) -> str:
    """A warning when the 90 % interval of the break-even year is wider than the horizon: more than 5 % of the
    replicates do not break even within it (the interval's upper end lies beyond it), or the replicates that do
    spread over the whole horizon. Empty when none breaks even (shown as "never") or the interval is narrower."""
    share = indexed.loc[(scenario, "horizon", "break_even_share"), "mean"]
    row = indexed.loc[(scenario, "horizon", "break_even_year")]
    if not share > 0:
        return ""
    if share < 0.95:
        return (
            f"warning: the break-even year's 90 % interval reaches beyond the horizon ({share:.0%} of the "
            f"replicates break even by {last_year})"
        )
    if row["p95"] - row["p05"] + 1 >= horizon_years:
        return "warning: the break-even year's 90 % interval is as wide as the horizon"
    return ""


def note_of(table: pd.DataFrame, scenario: str, figure: str) -> str:
    """The note of a horizon figure of comparison.csv (indexed by scenario, year, figure), or ''."""
    note = table.loc[(scenario, "horizon", figure), "note"] if "note" in table else ""
    return note if isinstance(note, str) else ""  # an empty note is read from the CSV file as NaN
