"""Paired comparison of scenarios under common random numbers, and the economics of prevention.

Every scenario runs with the same replicate seeds, so replicate r of two scenarios sees the same families,
shocks and decisions wherever the scenarios' rules agree; the per-replicate difference is then mostly the
effect of the rules that differ. Economics follow the form the field uses (WSIPP): spending on acting
early (prevention, ambulant, semi-residential help) against savings on late help (residential, crisis),
discounted at a real rate of 3.5 % (also 2 % and 5 %).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.calibration import over_horizon, summed_over_horizon
from model.ensemble import Ensemble
from model.output import write_atomically, write_text
from model.parameters import YearParameters
from model.run import SimulationResult, manifest_of, new_results_folder, simulate_many, write_microdata
from model.scenario import CATEGORIES, Scenario, ScenarioError
from model.uncertainty import draws_table, mode
from model.workbook import write_workbooks

DISCOUNT_RATES = (0.02, 0.035, 0.05)  # germany.toml benefit_cost_evidence.wsipp_discount_rates_real
BASE_RATE = 0.035
EARLY_CATEGORIES = ("prevention", "ambulant", "semi_residential")  # the extra spending of acting early
LATE_CATEGORIES = ("residential", "crisis")  # where acting early should save
INTERVAL = (0.05, 0.95)  # the 90 % interval of paired differences over replicates
CHANCE_SE_LIMIT = 0.05  # "chance it pays" is shown without a warning when its standard error is at most 5 points
FOLDER_NAMES_MAX = 100  # characters of scenario names in a results folder's name; longer lists get a short hash

# What must agree for a paired comparison to mean anything: (key path, getter).
_SAME = (
    ("simulation.start_year", lambda s: s.simulation.start_year),
    ("simulation.horizon_years", lambda s: s.simulation.horizon_years),
    ("simulation.burn_in_years", lambda s: s.simulation.burn_in_years),
    ("district.name", lambda s: s.district.name),
    ("district.inhabitants", lambda s: s.district.inhabitants.model_dump(exclude={"source"})),
    ("helps (names)", lambda s: sorted(s.helps)),
    ("prevention (names)", lambda s: sorted(s.prevention)),
)


def check_comparable(scenarios: list[Scenario], files: list[str] | None = None) -> None:
    """Raise ScenarioError with one line per difference that would make a paired comparison meaningless."""
    files = files or [s.name for s in scenarios]
    problems = []
    if len(scenarios) < 2:
        problems.append("compare needs at least two scenarios: a reference and an alternative")
    seen: set[str] = set()
    for file, scenario in zip(files, scenarios, strict=True):
        if scenario.name in seen:
            problems.append(f"{file}: name: {scenario.name!r}: given twice; compare each scenario once")
        seen.add(scenario.name)
    reference = scenarios[0]
    for file, scenario in zip(files[1:], scenarios[1:], strict=True):
        for key, get in _SAME:
            if get(scenario) != get(reference):
                problems.append(
                    f"{file}: {key}: {get(scenario)!r}: must equal the reference {files[0]} ({get(reference)!r}) "
                    "for a paired comparison"
                )
    if problems:
        raise ScenarioError(problems)


def _prices_and_volumes(result: SimulationResult) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly unit cost (EUR) and months of use of each help and service, per (replicate, year) row: the
    prices repeated for every replicate, so that both frames align."""
    wide = result.wide()
    cat = result.catalogue
    items = [f"occupancy.{h}" for h in cat.help_names] + [f"prevention_occupancy.{s}" for s in cat.prevention_names]
    year = wide.index.get_level_values("month") // 12 + result.start_year
    volumes = wide[items].groupby([wide.index.get_level_values("replicate"), year]).sum()
    volumes.index = volumes.index.set_names(["replicate", "year"])
    own = result.uncertainty  # each replicate has its own prices (`scenario_of`); else all share one scenario
    scenarios = {r: result.scenario_of(r) for r in volumes.index.unique("replicate")} if own else {}
    unit_costs: dict[tuple[int, int], list[float]] = {}
    for r, y in volumes.index:
        if (r if own else 0, y) not in unit_costs:
            p = YearParameters.of(scenarios[r] if own else result.scenario, int(y))
            unit_costs[r if own else 0, y] = [*p.help_cost_per_month, *p.prevention_cost_per_month]
    prices = pd.DataFrame([unit_costs[r if own else 0, y] for r, y in volumes.index], index=volumes.index)
    prices.columns = volumes.columns
    return prices, volumes


@dataclass
class Comparison:
    """Results of several scenarios run with the same replicate seeds; the first is the reference."""

    results: list[SimulationResult]
    _differences: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def reference(self) -> SimulationResult:
        return self.results[0]

    @property
    def names(self) -> list[str]:
        return [r.scenario.name for r in self.results]

    @property
    def uncertainty(self) -> str:
        """What the intervals and chances cover (`model.uncertainty.mode`), naming the ensemble drawn from."""
        ensemble = self.reference.ensemble
        drawn = f"; fitted mechanisms drawn from {Path(ensemble.file).name}" if ensemble else ""
        return mode(self.reference.uncertainty) + drawn

    def figures(self) -> dict[str, str]:
        """The figures compared, with their units."""
        cat = self.reference.catalogue
        counted = dict.fromkeys(s for s in cat.help_statistic if s)  # categories of the statistics
        placed = dict.fromkeys(s for s, out in zip(cat.help_statistic, cat.in_role("out_of_home"), strict=True) if out)
        out_of_home = [*cat.helps_in_role("out_of_home"), *(s for s in placed if s)]
        units = {f"begun_{h}": "begun per year (district)" for h in out_of_home}
        units |= {f"help_months_{h}": "placement-months per year (district)" for h in out_of_home}
        units |= {"hze_cases_all": "cases per 10,000 under 21"}
        units |= {f"cases_{h}": "cases per 10,000 under 21" for h in [*cat.help_names, *counted]}
        units |= {f"cost_eur_{c}": "EUR per year" for c in [*CATEGORIES, "total"]}
        return units

    def yearly(self) -> pd.DataFrame:
        """Figures per (scenario, replicate, year)."""
        columns = list(self.figures())
        return pd.concat({r.scenario.name: r.yearly()[columns] for r in self.results}, names=["scenario"])

    def differences(self) -> pd.DataFrame:
        """Paired differences alternative - reference per (scenario, replicate, year); negative = fewer/cheaper.
        Computed once (cash flows, economics and attribution all read it: do not modify the frame)."""
        if self._differences is None:
            columns = list(self.figures())
            reference = self.reference.yearly()[columns]
            self._differences = pd.concat(
                {r.scenario.name: r.yearly()[columns] - reference for r in self.results[1:]}, names=["scenario"]
            )
        return self._differences

    def outcome_differences(self) -> pd.DataFrame:
        """Paired differences of the children's outcomes (outcomes.OUTCOMES) per (scenario, replicate, year)."""
        from model.outcomes import yearly_outcomes  # that module builds on this one

        reference = yearly_outcomes(self.reference)
        return pd.concat(
            {r.scenario.name: yearly_outcomes(r) - reference for r in self.results[1:]}, names=["scenario"]
        )

    def cash_flows(self) -> pd.DataFrame:
        """Per (scenario, replicate, year): extra early spending, late savings, net saving (EUR)."""
        d = self.differences()
        flows = pd.DataFrame(index=d.index)
        flows["extra_spending_eur"] = d[[f"cost_eur_{c}" for c in EARLY_CATEGORIES]].sum(axis=1)
        flows["savings_eur"] = -d[[f"cost_eur_{c}" for c in LATE_CATEGORIES]].sum(axis=1)
        flows["net_saving_eur"] = flows["savings_eur"] - flows["extra_spending_eur"]
        return flows

    def cost_decomposition(self) -> pd.DataFrame:
        """Per (scenario, replicate, year): the paired change in cost split into price, volume and interaction.

        Each help and prevention service costs its months of use (volume q) times its monthly unit cost in force
        that year (price p; numbers change only in January). Against the reference (p0, q0): price = (p - p0) q0,
        a change of unit costs on the reference's volume; volume = (q - q0) p0, more or fewer months of help at
        the reference's prices; interaction = (p - p0)(q - q0). The three add up to the change in total cost."""
        reference = _prices_and_volumes(self.reference)
        parts = {}
        for r in self.results[1:]:
            p, q = _prices_and_volumes(r)
            p0, q0 = (frame[p.columns] for frame in reference)
            dp, dq = p - p0, q - q0
            parts[r.scenario.name] = pd.DataFrame(
                {
                    "cost_change_price_eur": dp.mul(q0).sum(axis=1),
                    "cost_change_volume_eur": dq.mul(p0).sum(axis=1),
                    "cost_change_interaction_eur": dq.mul(dp).sum(axis=1),
                }
            )
        return pd.concat(parts, names=["scenario"])

    def economics(self) -> pd.DataFrame:
        """Per (scenario, replicate): present values, NPV at 2/3.5/5 %, benefit-cost ratio, break-even year."""
        flows = self.cash_flows()
        rows = {}
        for key, group in flows.groupby(level=["scenario", "replicate"], sort=False):
            years = group.index.get_level_values("year").to_numpy()
            t = years - self.reference.start_year  # discounted to the start year
            extra, savings, net = (group[c].to_numpy() for c in ("extra_spending_eur", "savings_eur", "net_saving_eur"))
            row = {npv_key(rate): float(net @ (1 + rate) ** -t) for rate in DISCOUNT_RATES}
            spending_pv, savings_pv = float(extra @ (1 + BASE_RATE) ** -t), float(savings @ (1 + BASE_RATE) ** -t)
            row["extra_spending_pv_eur"] = spending_pv
            row["savings_pv_eur"] = savings_pv
            row["benefit_cost_ratio"] = savings_pv / spending_pv if spending_pv > 0 else np.nan
            row["savings_exceed_spending"] = float(savings_pv > spending_pv)
            # undiscounted, as planners count; only for an investment (a cut that spends less never "breaks even")
            ahead = np.flatnonzero(np.cumsum(savings) > np.cumsum(extra)) if spending_pv >= 0 else []
            row["break_even_year"] = float(years[ahead[0]]) if len(ahead) else np.nan
            rows[key] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index = pd.MultiIndex.from_tuples(out.index, names=["scenario", "replicate"])
        from model.outcomes import societal_economics

        return out.join(societal_economics(self))

    def table(self) -> pd.DataFrame:
        """comparison.csv: per scenario vs the reference, per year and over the horizon, each figure's paired
        difference (mean, its standard error, 5/50/95 % over replicates), then the economics of both perspectives,
        the per-family figures and a note where a figure is not shown or rests on too few replicates."""
        from model import outcomes

        units = self.figures() | outcomes.OUTCOMES
        d = self.differences().join(self.outcome_differences())
        flows = self.cash_flows().join(self.cost_decomposition())
        both = d.join(flows)
        units |= {c: "EUR per year" for c in flows}
        per_year = both.rename(index=str, level="year")
        horizon = over_horizon(both, ["scenario", "replicate"])
        horizon = pd.concat({"horizon": horizon}, names=["year"]).reorder_levels(["scenario", "replicate", "year"])
        long = pd.concat([per_year, horizon]).stack().rename("value")
        long.index = long.index.set_names("figure", level=-1)
        frame = _describe(long, ["scenario", "year", "figure"])
        frame["unit"] = [
            units[f].replace(" per year", " over the horizon")
            if y == "horizon" and summed_over_horizon(f)
            else units[f]
            for y, f in zip(frame["year"], frame["figure"], strict=True)
        ]

        econ = self.economics()
        econ_units = {c: "EUR, present value at start year" for c in econ}
        econ_units |= {"benefit_cost_ratio": "ratio (savings / extra spending, PV at 3.5 %)"}
        econ_units |= {"savings_exceed_spending": "share of replicates (PV at 3.5 %)"}
        econ_units |= {"break_even_year": "calendar year (replicates that break even)"}
        econ_units |= outcomes.societal_units([c for c in econ if c.endswith(outcomes.SOCIETAL)])
        long = econ.stack(future_stack=True).rename("value")
        long.index = long.index.set_names("figure", level=-1)
        economics = _describe(long, ["scenario", "figure"])
        economics.insert(1, "year", "horizon")
        economics["unit"] = economics["figure"].map(econ_units)
        investment = econ["extra_spending_pv_eur"] >= 0
        broke_even = econ["break_even_year"].notna().where(investment).groupby(level="scenario", sort=False).mean()
        shares = pd.DataFrame(
            {"scenario": broke_even.index, "year": "horizon", "figure": "break_even_share", "mean": broke_even.values}
        )
        shares["unit"] = "share of replicates that break even within the horizon"
        table = pd.concat([frame, economics, shares], ignore_index=True)
        n, horizon_years = len(self.reference.seeds), self.reference.scenario.simulation.horizon_years
        per_family = outcomes.per_family(table.set_index(["scenario", "year", "figure"]), self.names[1:], n)
        last_year = self.reference.start_year + horizon_years - 1
        table = outcomes.with_notes(pd.concat([table, per_family], ignore_index=True), n, horizon_years, last_year)
        table.insert(1, "reference", self.reference.scenario.name)
        table["uncertainty"] = self.uncertainty
        columns = ["scenario", "reference", "year", "figure", "unit", "mean", "se", "p05", "p50", "p95", "n", "note"]
        return table[[*columns, "uncertainty"]]

    def write(self, results_dir: Path) -> Path:
        """timeseries.parquet and summary.csv (all scenarios), comparison.csv, manifest.json; never overwrite."""
        return self.write_into(new_results_folder(results_dir, folder_name(self.names)))

    def write_into(self, out: Path, microdata: bool = False) -> Path:
        """Write the files into the (new, empty) folder `out`, each whole or not at all, the manifest last;
        with `microdata` also the scenarios' helps, census, assessments and population (a column `scenario` first)."""
        series = pd.concat({r.scenario.name: r.timeseries() for r in self.results}, names=["scenario"])
        series = series.reset_index(level=0).reset_index(drop=True)
        write_atomically(out / "timeseries.parquet", lambda path: series.to_parquet(path, index=False))
        summary = pd.concat({r.scenario.name: r.summary() for r in self.results}, names=["scenario"])
        write_atomically(out / "summary.csv", lambda path: summary.reset_index(level=0).to_csv(path, index=False))
        table = self.table()
        write_atomically(out / "comparison.csv", lambda path: table.to_csv(path, index=False))
        if self.reference.uncertainty:
            draws = draws_table([r.scenario for r in self.results], self.reference.seeds, self.reference.ensemble)
            write_atomically(out / "parameter_draws.csv", lambda path: draws.to_csv(path, index=False))
        if microdata:
            parts = {r.scenario.name: r.microdata() for r in self.results}
            tables = {
                name: pd.concat({s: p[name] for s, p in parts.items()}, names=["scenario"]).reset_index(0)
                for name in next(iter(parts.values()))
            }
            write_microdata(out, {name: t.reset_index(drop=True) for name, t in tables.items()})
        reference = self.reference
        manifest = manifest_of(
            {
                "kind": "comparison",
                "reference": reference.scenario.name,
                "scenarios": [
                    {
                        "name": r.scenario.name,
                        "content_hash": r.scenario.content_hash,
                        "scenario": r.scenario.model_dump(mode="json"),
                    }
                    for r in self.results
                ],
                "seed": reference.seed,
                "replicate_seeds": reference.seeds,
                "replicates": len(reference.seeds),
                "start_year": reference.start_year,
                "horizon_years": reference.scenario.simulation.horizon_years,
                "discount_rates": list(DISCOUNT_RATES),
                "early_categories": list(EARLY_CATEGORIES),
                "late_categories": list(LATE_CATEGORIES),
                "wall_time_s": round(reference.wall_time_s, 3),
                "uncertainty": mode(reference.uncertainty),
                "ensemble": ensemble_note(reference.ensemble),
            },
        )
        write_workbooks(table, manifest, out)
        write_text(out / "manifest.json", json.dumps(manifest, indent=2))  # last: the folder is complete
        return out


def compare(
    scenarios: list[Scenario],
    replicates: int = 50,
    seed: int = 1,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
    shared_past: bool = True,
    uncertainty: bool = False,
    ensemble: Ensemble | None = None,
) -> Comparison:
    """Run every scenario with the same replicate seeds; the first is the reference of the paired differences.
    With `shared_past` the scenarios' common past is simulated once per replicate (the same numbers); with
    `uncertainty` every replicate draws the uncertain numbers once for all scenarios (`model.uncertainty`), and
    one of the reference district's fitted parameter sets if an `ensemble` is given (`model.ensemble`)."""
    check_comparable(scenarios)
    return Comparison(simulate_many(scenarios, replicates, seed, workers, on_done, shared_past, uncertainty, ensemble))


def ensemble_note(ensemble: Ensemble | None) -> dict | None:
    """manifest.json's record of the ensemble drawn from (None: no district parameter sets drawn)."""
    if ensemble is None:
        return None
    return {
        "file": Path(ensemble.file).name,
        "parameter_sets": len(ensemble.weights),
        "key_paths": list(ensemble.paths),
    }


def _describe(values: pd.Series, by: list[str]) -> pd.DataFrame:
    """Mean, standard error of the mean, 5/50/95 % over replicates (NaN, e.g. never broke even, left out)."""
    grouped = values.groupby(level=by, sort=False)
    low, high = INTERVAL
    frame = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "se": grouped.std(ddof=1) / np.sqrt(grouped.count()),
            "p05": grouped.quantile(low),
            "p50": grouped.median(),
            "p95": grouped.quantile(high),
            "n": grouped.count(),
        }
    )
    return frame.reset_index()


def npv_key(rate: float) -> str:
    """The name of the net present value at `rate` in economics() and comparison.csv: npv_eur_at_3_5pct."""
    return f"npv_eur_at_{rate * 100:g}pct".replace(".", "_")


def invests(table: pd.DataFrame, scenario: str) -> bool:
    """Whether `scenario` spends more on early help than the reference (`table`: comparison.csv indexed by
    scenario, year, figure). Only then can extra spending pay off: a scenario that only steers cost or cuts is
    shown with no chance, ratio or break-even year."""
    return bool(table.loc[(scenario, "horizon", "extra_spending_pv_eur"), "mean"] > 0)


def folder_name(names: list[str]) -> str:
    """compare-<every scenario name>, or for a long list the reference, the count and a hash of all names."""
    joined = "-".join(names)
    if len(joined) <= FOLDER_NAMES_MAX:
        return f"compare-{joined}"
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:8]
    return f"compare-{names[0]}-and-{len(names) - 1}-more-{digest}"


def chance_standard_error(share: float, replicates: int) -> float:
    """Monte Carlo standard error of a share of replicates; the share is taken as (k + 1) / (n + 2) (Laplace),
    so that 0 % or 100 % of a few replicates does not claim certainty (4 of 4: 19 points)."""
    shrunk = (share * replicates + 1) / (replicates + 2)
    return math.sqrt(shrunk * (1 - shrunk) / replicates)


def replicates_for_chance(share: float, replicates: int) -> int:
    """About how many replicates bring chance_standard_error of this share to CHANCE_SE_LIMIT."""
    shrunk = (share * replicates + 1) / (replicates + 2)
    return math.ceil(shrunk * (1 - shrunk) / CHANCE_SE_LIMIT**2)
