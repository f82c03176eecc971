"""The model against published patterns it was not fitted to (docs/validation.md), counted from its microdata
(`model.microdata`) the way the statistics count them.

Each figure is computed per replicate (the mean over the horizon's years where it is a yearly figure), so
that its spread over replicates gives an interval. The functions take the microdata tables (helps, census,
assessments, population) and plain lists of help keys, so calibration can reuse them as targets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.calibration import CALIBRATION_TOLERANCE, reference, targets
from model.parameters import Catalogue

AGE_PROFILE_TOLERANCE = 0.20  # issue 13, "Done when": the age profile within +-20 % of the statistics at every age
YEARS_TOLERANCE = 1.0  # mean age at the start of a help, overtaking age: within one year
INTERVAL = (0.05, 0.95)  # the model's interval: quantiles over replicates
MINOR_AGES = range(18)
TRANSFER_BENEFITS = "transfer_benefits"  # the microdata column, and the prefix of the flags counted from it (`flagged`)

Tables = dict[str, pd.DataFrame]  # the microdata: helps, census, assessments, population
Groups = dict[str, tuple[str, ...]]  # help keys by the group a published figure names (`help_groups`)
Figure = Callable[[Tables, Groups], pd.Series]  # the model's figure per replicate


def young_people_per_case(groups: Groups) -> dict[str, float]:
    """Young people the statistics count per case of each help where that is not one: a family-oriented case
    (§31, and the family share of §27(2)) counts every child of the family, the model's case one child.

    Per family case: 1 + (young people - cases) / family cases of 2023 (germany.toml hze_cases_2023), since
    only family-oriented cases count more than one young person."""
    cases = reference()["hze_cases_2023"]
    family_cases = cases["spfh_31"] + cases["flexible_27_2_family"]
    extra_per_family_case = (cases["young_people"] - cases["total"]) / family_cases
    family_share_27_2 = cases["flexible_27_2_family"] / (
        cases["flexible_27_2_family"] + cases["flexible_27_2_individual"]
    )
    weights = {h: 1 + extra_per_family_case for h in groups.get("spfh_31", ())}
    weights |= {h: 1 + family_share_27_2 * extra_per_family_case for h in groups.get("flexible_27_2", ())}
    return weights


def rate_per_10k_by_age(
    census: pd.DataFrame, population: pd.DataFrame, per_case: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Young people in an HzE on 31 Dec per 10,000 young people of the same age: one row per replicate, one
    column per age, the mean over the years. A case of a help in `per_case` counts as that many young people
    (`young_people_per_case`); every other case as one."""
    in_hze = census[census["hze"]]
    weight = in_hze["help"].astype(str).map(dict(per_case)).fillna(1.0) if per_case else 1.0
    in_hze = in_hze.assign(young_people=weight).groupby(["replicate", "year", "age_years"])["young_people"].sum()
    people = population.set_index(["replicate", "year", "age_years"])["young_people"]
    rate = in_hze.reindex(people.index, fill_value=0) / people * 10_000
    return rate.groupby(level=["replicate", "age_years"]).mean().unstack("age_years")


def peak_age(rates: pd.DataFrame, ages: Sequence[int] = MINOR_AGES) -> pd.Series:
    """The age of the highest rate among `ages`, per replicate."""
    return rates[list(ages)].idxmax(axis=1).astype(float)


def served_by_age(helps: pd.DataFrame, census: pd.DataFrame, help_keys: Sequence[str]) -> pd.DataFrame:
    """Young people in one of `help_keys` at some time in a year (in the help on 31 Dec, or ended in the year,
    as the statistics count cases): one row per (replicate, year, age_years), one column per help."""
    ended = helps[(helps["event"] == "ended") & helps["help"].isin(help_keys)]
    stock = census[census["help"].isin(help_keys)]
    both = pd.concat(
        [ended[["replicate", "year", "age_years", "help"]], stock[["replicate", "year", "age_years", "help"]]]
    )
    both["help"] = both["help"].astype(str)
    counted = both.groupby(["replicate", "year", "age_years", "help"]).size().unstack("help", fill_value=0)
    return counted.reindex(columns=list(help_keys), fill_value=0)


def overtaking_age(served: pd.DataFrame, foster: str, residential: str, ages: Sequence[int] = MINOR_AGES) -> pd.Series:
    """Per replicate, the youngest age from which `residential` serves at least as many young people as
    `foster` at every older age in `ages` (pooled over the years); NaN if it never does at the oldest."""
    pooled = served.groupby(level=["replicate", "age_years"]).sum()
    out = {}
    for replicate, by_age in pooled.groupby(level="replicate"):
        by_age = by_age.droplevel("replicate").reindex(list(ages), fill_value=0)
        ahead = (by_age[residential] >= by_age[foster]).to_numpy()
        behind = np.flatnonzero(~ahead)  # ages at which foster care still serves more
        last_behind = behind[-1] if len(behind) else -1
        out[replicate] = float(ages[last_behind + 1]) if last_behind + 1 < len(ages) else np.nan
    return pd.Series(out, dtype=float)


def begun(helps: pd.DataFrame, help_keys: Sequence[str]) -> pd.DataFrame:
    """The rows of helps begun in one of `help_keys`."""
    return helps[(helps["event"] == "begun") & helps["help"].isin(help_keys)]


def share_by_replicate(rows: pd.DataFrame, column: str, replicates: Sequence[int]) -> pd.Series:
    """The share of `rows` whose boolean `column` is true, per replicate (NaN for a replicate without rows)."""
    return rows.groupby("replicate")[column].mean().reindex(replicates).astype(float)


def mean_by_replicate(rows: pd.DataFrame, column: str, replicates: Sequence[int]) -> pd.Series:
    return rows.groupby("replicate")[column].mean().reindex(replicates).astype(float)


def help_groups(catalogue: Catalogue) -> Groups:
    """The help keys of each group the published figures name: every category of the official statistics
    (`Help.statistic`), and `hze` (all HzE incl. §41), `hze_without_28`, `ambulant` (HzE neither §28 nor out
    of home)."""
    groups = {s: catalogue.helps_counted_as(s) for s in dict.fromkeys(catalogue.help_statistic) if s}
    hze = tuple(h for h, counts in zip(catalogue.help_names, catalogue.help_counts_as_hze, strict=True) if counts)
    counselling, away = set(groups.get("erziehungsberatung_28", ())), set(catalogue.helps_in_role("out_of_home"))
    groups["hze"] = hze
    groups["hze_without_28"] = tuple(h for h in hze if h not in counselling)
    groups["ambulant"] = tuple(h for h in hze if h not in counselling and h not in away)
    return groups


@dataclass(frozen=True)
class Check:
    """A published figure, and how the model's comparable figure is computed per replicate."""

    name: str
    statistic: float
    unit: str  # "share", "per 10,000 of the same age" or "years"
    source: str  # the germany.toml key
    model: Figure

    @property
    def tolerance(self) -> tuple[str, float]:
        """("years", absolute) for ages, else ("relative", share): the bars of issue 13."""
        if self.unit == "years":
            return "years", YEARS_TOLERANCE
        return "relative", AGE_PROFILE_TOLERANCE if self.unit.startswith("per 10,000") else CALIBRATION_TOLERANCE


def checks() -> list[Check]:
    """Every published pattern of germany.toml the model is checked against (none of them fitted)."""
    ref = reference()

    def replicates(tables: Tables) -> list[int]:
        return sorted(tables["population"]["replicate"].unique())

    def rate_at(age_years: int) -> Figure:
        return lambda t, g: rate_per_10k_by_age(t["census"], t["population"], young_people_per_case(g))[age_years]

    def highest_rate(t: Tables, g: Groups) -> pd.Series:
        return peak_age(rate_per_10k_by_age(t["census"], t["population"], young_people_per_case(g)))

    def at_start(flag: str, group: str) -> Figure:
        """The share of helps begun in `group` with `flag` (a column or an age band, `flagged`)."""
        return lambda t, g: share_by_replicate(flagged(begun(t["helps"], g[group]), flag), "flag", replicates(t))

    def mean_age_at_start(t: Tables, g: Groups) -> pd.Series:
        return mean_by_replicate(begun(t["helps"], g["hze"]), "age_years", replicates(t))

    def out_of_home_served(flag: str) -> Figure:
        """The share with `flag` of young people in §33 or §34 at some time in the year (as the press release)."""

        def figure(t: Tables, g: Groups) -> pd.Series:
            keys, helps = (*g["vollzeitpflege_33"], *g["heimerziehung_34"]), t["helps"]
            ended = helps[(helps["event"] == "ended") & helps["help"].isin(keys)]
            rows = pd.concat([ended, t["census"][t["census"]["help"].isin(keys)]])
            return share_by_replicate(flagged(rows, flag), "flag", replicates(t))

        return figure

    def overtaking(t: Tables, g: Groups) -> pd.Series:
        foster, residential = list(g["vollzeitpflege_33"]), list(g["heimerziehung_34"])
        by_help = served_by_age(t["helps"], t["census"], foster + residential)
        both = pd.DataFrame({"foster": by_help[foster].sum(axis=1), "residential": by_help[residential].sum(axis=1)})
        return overtaking_age(both, "foster", "residential")

    def endangered_mean_age(t: Tables, g: Groups) -> pd.Series:
        a = t["assessments"]
        return mean_by_replicate(a[a["outcome"].isin(["acute", "latent"])], "age_years", replicates(t))

    def ended(column: str) -> Figure:
        """The mean of `column` (months, as_planned) over HzE ended."""

        def figure(t: Tables, g: Groups) -> pd.Series:
            helps = t["helps"]
            rows = helps[(helps["event"] == "ended") & helps["help"].isin(g["hze"])]
            return mean_by_replicate(rows.assign(value=rows[column].astype(float)), "value", replicates(t))

        return figure

    per10k, share, years = "per 10,000 of the same age", "share", "years"
    transfer, single = TRANSFER_BENEFITS, "single_parent"
    rows: list[tuple[str, str, str, Figure]] = [  # figure, germany.toml section.key, unit, the model's figure
        ("in_help_31_dec_age_9_2015", "age_profile.in_help_per_10k_age_9_2015", per10k, rate_at(9)),
        ("in_help_31_dec_age_10_2015", "age_profile.in_help_per_10k_age_10_2015", per10k, rate_at(10)),
        ("in_help_31_dec_age_10_2011", "age_profile.in_help_per_10k_age_10_2011", per10k, rate_at(10)),
        ("age_of_highest_rate_in_help_2023", "age_profile.peak_age_years_2023", years, highest_rate),
        ("mean_age_at_start_all_hze_2023", "hze_starts_by_age.mean_age_years_at_start_2023", years, mean_age_at_start),
        (
            "begun_aged_0_13_all_hze_2010",
            "hze_starts_by_age.share_begun_aged_0_13_all_hze_2010",
            share,
            at_start("under_14", "hze"),
        ),
        (
            "begun_aged_0_13_erziehungsberatung_28_2010",
            "hze_starts_by_age.share_begun_aged_0_13_erziehungsberatung_2010",
            share,
            at_start("under_14", "erziehungsberatung_28"),
        ),
        (
            "begun_aged_0_13_spfh_31_2010",
            "hze_starts_by_age.share_begun_aged_0_13_family_helps_2010",
            share,
            at_start("under_14", "spfh_31"),
        ),
        (
            "residential_overtakes_foster_care_at_age_2022",
            "out_of_home_by_age_2022.residential_predominates_from_age_years",
            years,
            overtaking,
        ),
        (
            "transfer_benefits_at_start_all_hze_2023",
            "social_selection.transfer_benefits_share_at_start_all_hze_2023",
            share,
            at_start(transfer, "hze"),
        ),
        (
            "single_parent_at_start_all_hze_2023",
            "social_selection.single_parent_share_at_start_all_hze_2023",
            share,
            at_start(single, "hze"),
        ),
    ]
    for flag, key, group in (
        (transfer, "erziehungsberatung_28_2022", "erziehungsberatung_28"),
        (transfer, "soziale_gruppenarbeit_29_2022", "soziale_gruppenarbeit_29"),
        (transfer, "spfh_31_2020", "spfh_31"),
        (transfer, "tagesgruppe_32_2022", "tagesgruppe_32"),
        (transfer, "vollzeitpflege_33_2022", "vollzeitpflege_33"),
        (transfer, "hze_without_28_2015", "hze_without_28"),
        (single, "hze_without_28_2022", "hze_without_28"),
        (single, "ambulant_2022", "ambulant"),
    ):
        name = f"{flag}_share_at_start_{key}"
        rows.append((name.replace("_share", ""), f"social_selection.{name}", share, at_start(flag, group)))
    for flag, key in (
        (single, "single_parent_share"),
        (transfer, "transfer_benefits_share"),
        (f"{transfer}_of_single_parents", "transfer_benefits_share_of_single_parents"),
        ("under_10", "share_aged_under_10"),
        ("under_14", "share_aged_under_14"),
        ("adult", "share_aged_18_or_over"),
    ):
        rows.append(
            (f"out_of_home_served_{key}_2022", f"out_of_home_by_age_2022.{key}", share, out_of_home_served(flag))
        )
    rows += [
        (
            "assessments_8a_endangerment_mean_age_2023",
            "assessments_8a_by_age_2023.mean_age_years_endangerment",
            years,
            endangered_mean_age,
        ),
        (
            "mean_months_of_hze_ended_2023",
            "hze_starts.mean_duration_ended_helps_months_2023",
            "months",
            ended("months"),
        ),
        ("hze_ended_as_planned_2023", "hze_starts.ended_as_planned_share_2023", share, ended("as_planned")),
    ]
    return [Check(name, _figure(ref, key), unit, key, figure) for name, key, unit, figure in rows]


def _figure(ref: dict, key: str) -> float:
    section, name = key.split(".")
    return float(ref[section][name])


def flagged(rows: pd.DataFrame, flag: str) -> pd.DataFrame:
    """`rows` with a boolean column "flag": their column `flag`, or an age band (under_10, under_14, adult).

    Transfer benefits are a share of the young people whose family's situation is known: not of unaccompanied
    minors, whose families live abroad (docs/validation.md, "What the comparison cannot see");
    `transfer_benefits_of_single_parents` is that share among single parents."""
    if flag.startswith(TRANSFER_BENEFITS):
        rows = rows[~rows["unaccompanied"].astype(bool)]
        if flag == f"{TRANSFER_BENEFITS}_of_single_parents":
            rows, flag = rows[rows["single_parent"].astype(bool)], TRANSFER_BENEFITS
    age = rows["age_years"]
    derived = {"under_10": age < 10, "under_14": age < 14, "adult": age >= 18}
    return rows.assign(flag=derived[flag] if flag in derived else rows[flag].astype(bool))


def verdict(model: float, statistic: float, tolerance: tuple[str, float]) -> str:
    """ "within" or "outside" the tolerance ("relative": |model / statistic - 1|; "years": |model - statistic|)."""
    kind, bar = tolerance
    if np.isnan(model):
        return "no model figure"
    off = abs(model - statistic) if kind == "years" else abs(model / statistic - 1)
    return "within" if off <= bar + 1e-9 else "outside"


def summarise(
    name: str, statistic: float, unit: str, per_replicate: pd.Series, tolerance, fitted: bool, source: str
) -> dict:
    values = per_replicate.dropna()
    low, high = (values.quantile(q) if len(values) else np.nan for q in INTERVAL)
    model = float(values.mean()) if len(values) else np.nan
    kind, bar = tolerance
    return {
        "figure": name,
        "unit": unit,
        "statistic": statistic,
        "model": model,
        "p05": low,
        "p95": high,
        "bar": f"±{bar:g} years" if kind == "years" else f"±{bar:.0%}",
        "verdict": verdict(model, statistic, tolerance),
        "fitted": fitted,
        "source": source,
    }


SET_BY_HAND = {  # published patterns a parameter of baseline.toml was set to by hand (its source says so)
    "in_help_31_dec_age_9_2015": "burden.age_hazard_ratio_by_band",
    "in_help_31_dec_age_10_2015": "burden.age_hazard_ratio_by_band",
    "in_help_31_dec_age_10_2011": "burden.age_hazard_ratio_by_band",
    "residential_overtakes_foster_care_at_age_2022": "weight_by_age_band of §33 and §34",
    "transfer_benefits_at_start_erziehungsberatung_28_2022": "detection.self_referral_hazard_ratio_transfer_benefits",
    "transfer_benefits_at_start_soziale_gruppenarbeit_29_2022": "its help's choice_weight_ratio_transfer_benefits",
    "transfer_benefits_at_start_tagesgruppe_32_2022": "its help's choice_weight_ratio_transfer_benefits",
}


def validation_table(tables: Tables, groups: Groups) -> pd.DataFrame:
    """Every published pattern (`checks`) against the model: its mean over replicates, 5-95 % interval, verdict;
    `fitted` where a parameter was set to it by hand (SET_BY_HAND), else not fitted."""
    rows = []
    for c in checks():
        fitted = c.name in SET_BY_HAND
        source = "germany.toml " + c.source + (f"; set by hand: {SET_BY_HAND[c.name]}" if fitted else "")
        rows.append(summarise(c.name, c.statistic, c.unit, c.model(tables, groups), c.tolerance, fitted, source))
    return pd.DataFrame(rows)


def fitted_table(yearly: pd.DataFrame) -> pd.DataFrame:
    """Every calibration target (`calibration.targets`) against the model's per-replicate mean over the years,
    with the bar of calibration (±15 %); checks of calibration.md not fitted are marked so."""
    rows = []
    for t in targets():
        column = t.figure or t.name
        if column not in yearly:
            continue
        per_replicate = yearly.groupby(level="replicate")[column].mean()
        tolerance = ("relative", CALIBRATION_TOLERANCE)
        rows.append(summarise(t.name, t.value, t.unit, per_replicate, tolerance, t.calibrated, t.source))
    return pd.DataFrame(rows)


def age_profile_table(tables: Tables, groups: Groups) -> pd.DataFrame:
    """The model's young people in an HzE on 31 Dec per 10,000 of the same age, ages 0-20, with interval."""
    rates = rate_per_10k_by_age(tables["census"], tables["population"], young_people_per_case(groups))
    low, high = INTERVAL
    return pd.DataFrame({"model": rates.mean(), "p05": rates.quantile(low), "p95": rates.quantile(high)})
