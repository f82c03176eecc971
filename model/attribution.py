"""Where a scenario's result comes from: Shapley values over its lever groups, exact per replicate.

A scenario changes some numbers of the reference. The changed numbers are grouped into levers, derived from
their key paths and the schema, not from names: every unit cost (a key whose unit is EUR per day or per
month) goes to *prices*; any other change of a prevention service or a help to that service or help
(`prevention.familienhebamme`, `helps.intensive_familienhilfe`); anything else to its section (`policy`,
`detection`, `youth_office`, ...). With more than MAX_GROUPS groups, the sections with the most groups are
merged into one group each (`prevention`, `helps`) until at most MAX_GROUPS remain.

For k groups every one of the 2^k subsets S runs: the reference with the changes of the groups in S, under the
comparison's replicate seeds (common random numbers; the runs share their past until the first year a number
differs, `model.past`). With v(S) the outcome of S minus that of the reference in the same replicate, group i's
Shapley value is

    phi_i = sum over S without i of |S|! (k - |S| - 1)! / k! * (v(S + i) - v(S)),

its mean contribution over every order in which the levers could be added. The values add up exactly to
v(all) = the scenario's paired difference (efficiency), a group that changes nothing gets zero, and so does
every group of a scenario equal to the reference. Cost: 2^k - 2 runs per replicate besides the comparison's.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from model.comparison import BASE_RATE, Comparison, _describe, npv_key
from model.labels import words
from model.output import write_atomically
from model.run import SimulationResult, simulate_many
from model.scenario import Scenario, ScenarioError, unit_of

MAX_GROUPS = 6  # 2^6 = 64 subsets: 62 extra runs per replicate; beyond that the runs grow faster than the insight
PRICES = "prices"
PRICE_UNITS = ("EUR per day", "EUR per month")  # unit costs (daily rates, monthly rates): a price, not a volume
PER_ITEM_SECTIONS = ("prevention", "helps")  # their changes are grouped per service or help
NOT_NUMBERS = ("name", "description", "title", "extends")  # what a scenario says about itself, not the district
PLACEMENTS_BEGUN = "placements_begun"
OUTCOMES = {  # what is attributed, with its unit
    npv_key(BASE_RATE): f"EUR, net present value at {BASE_RATE:.1%} (youth-welfare budget)",
    "cost_eur_total": "EUR over the horizon (change of total cost)",
    PLACEMENTS_BEGUN: "placements begun over the horizon (district; helps with access = placement)",
}
PRICE_KIND = "price: unit costs changed, not a programme effect"
LEVER_KIND = "programme lever"


@dataclass(frozen=True)
class LeverGroup:
    """Changed numbers that are switched on together: a name and the key paths of the changes."""

    name: str
    keys: tuple[str, ...]

    @property
    def kind(self) -> str:
        return PRICE_KIND if self.name == PRICES else LEVER_KIND


def changed_keys(reference: Scenario, alternative: Scenario) -> list[str]:
    """The key paths whose numbers (value and `by_year` changes; a source is no number) or settings differ."""
    found: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if _is_number(a) or _is_number(b) or not (isinstance(a, dict) and isinstance(b, dict)):
            if _numbers_of(a) != _numbers_of(b):
                found.append(path)
            return
        for key in dict.fromkeys([*a, *b]):
            walk(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))

    ref, alt = (s.model_dump(mode="python", exclude=set(NOT_NUMBERS)) for s in (reference, alternative))
    walk(ref, alt, "")
    return found


def _is_number(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "source" in node


def _numbers_of(node: Any) -> Any:
    return {k: v for k, v in node.items() if k != "source"} if _is_number(node) else node


def group_of(key: str) -> str:
    """The fine lever group of a changed key path (see the module's docstring)."""
    if unit_of(key) in PRICE_UNITS:
        return PRICES
    parts = key.split(".")
    if parts[0] in PER_ITEM_SECTIONS and len(parts) > 2:
        return f"{parts[0]}.{parts[1]}"
    return parts[0]


def lever_groups(reference: Scenario, alternative: Scenario, max_groups: int = MAX_GROUPS) -> list[LeverGroup]:
    """The lever groups of the alternative's changes, at most `max_groups`: sections with many groups are merged
    first (largest first); if that is not enough, the groups from the max_groups-th on become one."""
    fine: dict[str, list[str]] = {}
    for key in changed_keys(reference, alternative):
        fine.setdefault(group_of(key), []).append(key)
    groups = dict(fine)
    sizes = {section: sum(g.split(".")[0] == section for g in fine) for section in PER_ITEM_SECTIONS}
    for section in sorted(sizes, key=lambda s: -sizes[s]):
        if len(groups) <= max_groups or sizes[section] < 2:
            break
        members = [g for g in groups if g.split(".")[0] == section]
        merged = [key for g in members for key in groups.pop(g)]
        groups[section] = merged
    if len(groups) > max_groups:
        names = list(groups)
        rest = names[max_groups - 1 :]
        groups = {n: groups[n] for n in names[: max_groups - 1]} | {
            "other: " + ", ".join(rest): [k for n in rest for k in groups[n]]
        }
    return [LeverGroup(name, tuple(keys)) for name, keys in groups.items()]


def with_changes(reference: Scenario, alternative: Scenario, keys: list[str], name: str) -> Scenario:
    """The reference with the alternative's numbers at `keys` (whole number tables, sources included)."""
    data = reference.model_dump(mode="python")
    new = alternative.model_dump(mode="python")
    for key in keys:
        *parents, last = key.split(".")
        target, source = data, new
        for part in parents:
            target, source = target[part], source[part]
        target[last] = copy.deepcopy(source[last])
    data["name"] = name
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:  # a combination the schema forbids (e.g. more minors than under-21s)
        raise ScenarioError(
            [
                f"{alternative.name}: attribution: the changes {', '.join(keys)} cannot be applied without the "
                f"others (the reference with them is invalid: {str(err).splitlines()[0]})"
            ]
        ) from None


def shapley(values: np.ndarray) -> np.ndarray:
    """Shapley values of k players from v(S) for every subset S (values[mask], mask bit i: player i in S;
    further axes, e.g. replicates, are kept): shape (k, ...)."""
    k = (len(values) - 1).bit_length()
    if 2**k != len(values):
        raise ValueError(f"{len(values)} subset values: need 2^k")
    weight = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    phi = np.zeros((k, *values.shape[1:]))
    for i in range(k):
        bit = 1 << i
        for mask in range(len(values)):
            if not mask & bit:
                phi[i] += weight[mask.bit_count()] * (values[mask | bit] - values[mask])
    return phi


def outcomes_of(comparison: Comparison) -> pd.DataFrame:
    """Per (scenario, replicate) the attributed outcomes (OUTCOMES): paired differences to the reference."""
    cat = comparison.reference.catalogue
    d = comparison.differences()
    summed = d.groupby(level=["scenario", "replicate"], sort=False).sum()
    frame = pd.DataFrame(index=summed.index)
    frame[npv_key(BASE_RATE)] = comparison.economics()[npv_key(BASE_RATE)]
    frame["cost_eur_total"] = summed["cost_eur_total"]
    frame[PLACEMENTS_BEGUN] = summed[[f"begun_{h}" for h in cat.helps_in_role("placement")]].sum(axis=1)
    return frame


@dataclass
class Attribution:
    """The Shapley values of one alternative's lever groups, per outcome and replicate."""

    scenario: str
    reference: str
    groups: list[LeverGroup]
    values: dict[str, np.ndarray]  # outcome -> (groups x replicates)
    totals: dict[str, np.ndarray]  # outcome -> the paired difference per replicate

    @cached_property
    def per_replicate(self) -> pd.DataFrame:
        """One row per (outcome, group, replicate); the group "total" is the paired difference."""
        rows = []
        for outcome, values in self.values.items():
            for g, group in enumerate([*self.groups, LeverGroup("total", ())]):
                row = values[g] if g < len(self.groups) else self.totals[outcome]
                rows += [(outcome, group.name, r, float(v)) for r, v in enumerate(row)]
        return pd.DataFrame(rows, columns=["outcome", "group", "replicate", "value"])

    def table(self) -> pd.DataFrame:
        """attribution.csv's rows of this scenario: per outcome and group mean, standard error, 5/50/95 %, n."""
        frame = _describe(self.per_replicate.set_index(["outcome", "group"])["value"], ["outcome", "group"])
        by_name = {g.name: g for g in self.groups}
        frame.insert(0, "scenario", self.scenario)
        frame.insert(1, "reference", self.reference)
        frame.insert(3, "unit", frame["outcome"].map(OUTCOMES))
        frame.insert(
            5, "kind", [by_name[g].kind if g in by_name else "total (paired difference)" for g in frame["group"]]
        )
        frame.insert(6, "keys", [" ".join(by_name[g].keys) if g in by_name else "" for g in frame["group"]])
        return frame


def attribute(
    comparison: Comparison,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
    max_groups: int = MAX_GROUPS,
) -> list[Attribution]:
    """The attribution of every alternative of `comparison` to its lever groups: the subsets' runs use the
    comparison's replicate seeds; the empty and the full subset are the comparison's own runs."""
    reference = comparison.reference
    replicates = len(reference.seeds)
    found = []
    for result in comparison.results[1:]:
        groups = lever_groups(reference.scenario, result.scenario, max_groups)
        k = len(groups)
        subsets = [  # mask bit g: group g's changes applied; mask 0 is the reference
            with_changes(
                reference.scenario,
                result.scenario,
                [key for g, group in enumerate(groups) if mask >> g & 1 for key in group.keys],
                f"{result.scenario.name[:40]}.subset-{mask}",
            )
            for mask in range(1, 2**k)
        ]
        values = {outcome: np.zeros((k, replicates)) for outcome in OUTCOMES}
        totals = {outcome: np.zeros(replicates) for outcome in OUTCOMES}
        if k:
            full = subsets.pop()
            if changed_keys(full, result.scenario):  # the groups' changes together are the scenario itself
                raise AssertionError(f"{result.scenario.name}: the lever groups together differ from the scenario")
            # with parameter uncertainty each subset draws as the comparison did: per replicate seed and key path
            draw = {"uncertainty": result.uncertainty, "ensemble": result.ensemble}
            runs = simulate_many(subsets, replicates, reference.seed, workers, on_done, **draw) if subsets else []
            full_run = SimulationResult(full, result.seed, result.seeds, result.values, result.wall_time_s, **draw)
            outcomes = outcomes_of(Comparison([reference, *runs, full_run]))
            for outcome in OUTCOMES:
                by_mask = np.zeros((2**k, replicates))  # v(empty set) = 0: the reference against itself
                for mask, run in enumerate([*runs, full_run], start=1):
                    by_mask[mask] = outcomes.loc[run.scenario.name, outcome].to_numpy()
                values[outcome], totals[outcome] = shapley(by_mask), by_mask[-1]
        found.append(Attribution(result.scenario.name, reference.scenario.name, groups, values, totals))
    return found


def extra_runs(scenarios: list[Scenario], max_groups: int = MAX_GROUPS) -> int:
    """Model runs per replicate that the attribution adds to a comparison of these scenarios (the first is the
    reference)."""
    reference, *others = scenarios
    return sum(max(0, 2 ** len(lever_groups(reference, s, max_groups)) - 2) for s in others)


def group_label(name: str, lang: str) -> str:
    """A lever group in plain words (labels.toml): a service or help by its label, a section by its name."""
    w = words(lang)
    item = name.partition(".")[2]
    if item:
        return w["services"].get(item, name)
    return w["lever_groups"].get(name, name)


def read_attribution(folder: Path) -> pd.DataFrame | None:
    """attribution.csv of a comparison folder, or None if the comparison ran without --attribution."""
    path = folder / "attribution.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.is_file() else None


def attribution_table(attributions: list[Attribution]) -> pd.DataFrame:
    return pd.concat([a.table() for a in attributions], ignore_index=True)


def write_attribution(folder: Path, attributions: list[Attribution]) -> Path:
    """attribution.csv in `folder`, whole or not at all."""
    table = attribution_table(attributions)
    return write_atomically(folder / "attribution.csv", lambda path: table.to_csv(path, index=False))
