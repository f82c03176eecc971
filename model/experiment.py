"""Experiments as data: uncertainties and levers over one or two scenarios, a design, outcomes, an evaluator.

In the vocabulary of exploratory modelling: *uncertainties* are numbers nobody controls (effect sizes,
detection rates, unit costs), *levers* are the planner's choices (budgets, network strength), *outcomes*
are the figures analysed. SALib draws the design (Sobol, Morris, eFAST, Latin hypercube) and analyses it;
the runs go to an evaluator (local processes or a Dask cluster) in batches, and every finished batch is
a Parquet part on disk, so that an interrupted experiment resumes with what is missing.

Every design point runs the same replicate seeds (common random numbers across design points and between
the two scenarios of a paired outcome); the analysis uses the mean over replicates per design point.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from SALib.analyze import fast as fast_analyze
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import fast_sampler, latin, morris, sobol
from SALib.util import scale_samples

from model.calibration import over_horizon
from model.charts import write_charts
from model.comparison import Comparison, check_comparable
from model.output import write_atomically, write_text
from model.parameters import Catalogue
from model.past import first_year, fork_month, run_shared
from model.recorder import Recorder
from model.run import (
    SimulationResult,
    default_workers,
    new_results_folder,
    replicate_seeds,
    run_separately,
    write_manifest,
)
from model.scenario import Scenario, ScenarioError, _problem_lines, inside_allowed, load_scenario, read_toml
from model.workers import map_unordered

METHODS = ("grid", "monte_carlo", "latin", "sobol", "morris", "fast")
DISTRIBUTIONS = {"uniform": "unif", "triangular": "triang"}  # ours -> SALib's
# assumption: a million points take days per replicate at the measured few model runs per second and core
# (docs/performance.md), and ten megabytes per factor to draw: beyond this, a typo (2^28) is likelier than intent
MAX_DESIGN_POINTS = 1_000_000
ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1  # the classic test function's constants (Ishigami & Homma 1990)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# a calendar year: a whole number as written (strict: not 2026.0 or "2026"); the scenarios' years are checked later
FromYear = Annotated[int, Field(strict=True)]


class Uncertainty(_Strict):
    """A number nobody controls, by its key path in the scenario, with a distribution between low and high."""

    path: str
    low: float
    high: float
    distribution: Literal["uniform", "triangular"] = "uniform"
    peak: float | None = None  # triangular: the most likely value
    relative: bool = False  # low/high are factors on the scenario's number (its by_year ramp keeps its shape)
    from_year: FromYear | None = None  # the drawn number holds from this year on (default: factors_from_year)
    source: str = Field(min_length=3)


class Lever(_Strict):
    """A planner's choice swept over given values (grid designs)."""

    path: str
    values: list[float] = Field(min_length=1)
    relative: bool = False
    from_year: FromYear | None = None
    source: str = Field(min_length=3)


class Design(_Strict):
    method: Literal[METHODS]  # type: ignore[valid-type]
    samples: Annotated[int, Field(ge=1)] | None = None  # sobol: base N (a power of 2); fast, latin, monte_carlo: N
    second_order: bool = False  # sobol
    trajectories: Annotated[int, Field(ge=2)] | None = None  # morris
    levels: Annotated[int, Field(ge=2)] = 4  # morris grid levels (even)
    harmonics: Annotated[int, Field(ge=1)] = 4  # fast: M


class ExperimentSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str
    model: Literal["prevsim", "ishigami"] = "prevsim"
    scenarios: list[str] = []  # one (outcomes of that scenario) or two (paired: second minus first)
    replicates: Annotated[int, Field(ge=1)] = 1
    seed: Annotated[int, Field(ge=0)] = 1
    points_per_batch: Annotated[int, Field(ge=1)] = 8  # a work unit: this many design points, all replicates
    # the factors' numbers hold from this year on, the scenarios' own before it (so design points share the
    # burn-in: `model.past`); None: from the first simulated year. A factor's own from_year wins.
    factors_from_year: FromYear | None = None
    design: Design
    uncertainties: list[Uncertainty] = []
    levers: list[Lever] = []
    outcomes: list[str] = Field(min_length=1)


class Experiment:
    """A validated experiment: its spec, the loaded scenarios and the design matrix."""

    def __init__(
        self,
        spec: ExperimentSpec,
        scenarios: list[Scenario],
        path: Path | None = None,
        design: np.ndarray | None = None,
    ) -> None:
        """design: the design matrix (points x factors) if drawn elsewhere (SALib, the EMA Workbench)."""
        self.spec, self.scenarios, self.path = spec, scenarios, path
        # the runs of a design point share their past (`model.past`), and design points whose numbers differ
        # only after it share it too (each worker keeps recent pasts); False runs every run from the beginning
        self.shared_past = True
        self.factors = spec.levers if spec.design.method == "grid" else spec.uncertainties
        self.design = self._design() if design is None else np.asarray(design, dtype=float)

    def with_design(self, design: np.ndarray) -> Experiment:
        """The same experiment over another design matrix (points x factors, the factors in the same order)."""
        return Experiment(self.spec, self.scenarios, self.path, design)

    @property
    def names(self) -> list[str]:
        return [f.path for f in self.factors]

    @property
    def model_runs_per_replicate(self) -> int:
        """Model runs behind one replicate of a design point: one per scenario (the test model: one)."""
        return max(1, len(self.scenarios))

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem: names, bounds (and for triangular: peak as a fraction of the range), dists."""
        bounds, dists = [], []
        for u in self.spec.uncertainties:
            if u.distribution == "triangular":
                bounds.append([u.low, u.high, (u.peak - u.low) / (u.high - u.low)])
            else:
                bounds.append([u.low, u.high])
            dists.append(DISTRIBUTIONS[u.distribution])
        return {"num_vars": len(bounds), "names": self.names, "bounds": bounds, "dists": dists}

    @property
    def content_hash(self) -> str:
        data = {"spec": self.spec.model_dump(mode="json"), "scenarios": [s.content_hash for s in self.scenarios]}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def _design(self) -> np.ndarray:
        d, seed = self.spec.design, self.spec.seed
        if d.method == "grid":
            return np.array(list(itertools.product(*(lever.values for lever in self.spec.levers))), dtype=float)
        if d.method == "sobol":
            return sobol.sample(self.problem, d.samples, calc_second_order=d.second_order, seed=seed)
        if d.method == "morris":
            return morris.sample(self.problem, d.trajectories, num_levels=d.levels, seed=seed)
        if d.method == "fast":
            return fast_sampler.sample(self.problem, d.samples, M=d.harmonics, seed=seed)
        if d.method == "latin":
            return latin.sample(self.problem, d.samples, seed=seed)
        uniform = np.random.default_rng(seed).random((d.samples, len(self.factors)))  # monte_carlo
        return scale_samples(uniform, self.problem)

    def batches(self) -> list[range]:
        """Work units: consecutive design points, all replicates each."""
        n, size = len(self.design), self.spec.points_per_batch
        return [range(start, min(start + size, n)) for start in range(0, n, size)]

    def from_year(self, factor: Uncertainty | Lever) -> int | None:
        """The year from which the factor's number holds (None: throughout)."""
        return factor.from_year if factor.from_year is not None else self.spec.factors_from_year

    def parting_month(self, scenarios: list[Scenario]) -> int:
        """The month from which a design point's runs (`scenarios_at`) go their own way: their `fork_month`,
        or if every factor acts from a year on (`from_year`), January of the earliest such year if that comes
        first: until then every design point has the same past (`model.past`)."""
        month = fork_month(scenarios)
        years = [self.from_year(f) for f in self.factors]
        if self.factors and None not in years:
            start = scenarios[0].simulation.start_year
            month = min(month, 12 * (min(years) - start))  # type: ignore[type-var]
        return month

    def scenarios_at(self, point: int) -> list[Scenario]:
        """The scenarios with the design point's numbers applied (each factor as a value or a factor, from its
        year on)."""
        groups: dict[tuple[bool, int | None], dict[str, float]] = {}
        for f, x in zip(self.factors, self.design[point], strict=True):
            groups.setdefault((f.relative, self.from_year(f)), {})[f.path] = float(x)
        changed = []
        for s in self.scenarios:
            for (relative, from_year), values in groups.items():
                s = s.with_values(values, relative=relative, from_year=from_year)
            changed.append(s)
        return changed


# --- loading and checking ------------------------------------------------------------------------


def load_experiment(path: str | Path, allowed: Sequence[Path] = (), allow_large: bool = False) -> Experiment:
    """Read and validate an experiment file; raise ScenarioError with one line per problem, before any run.

    Its scenarios (and their `extends`) may lie in the folder tree of the file naming them, of the current
    folder, or of `allowed`. A design of more than MAX_DESIGN_POINTS points needs allow_large."""
    path = Path(path).resolve()
    data = read_toml(path, kind="experiment")
    scenario_keys = set(Scenario.model_fields) - set(ExperimentSpec.model_fields)
    if not is_experiment(data) and scenario_keys & set(data):
        shown = ", ".join(sorted(scenario_keys & set(data)))
        raise ScenarioError([f"{path}: a scenario file (it has {shown}), not an experiment: run prevsim run"])
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_problem_lines(err, lambda _loc: path, ExperimentSpec)) from None
    problems = _check_design(spec, path)
    if not problems and not allow_large:
        problems = _check_size(spec, path)
    scenarios = []
    if spec.model == "prevsim":
        for i, name in enumerate(spec.scenarios):
            try:
                file = inside_allowed(path, f"scenarios[{i}]", name, allowed)
            except ScenarioError as err:
                problems += err.problems
                continue
            try:
                scenarios.append(load_scenario(file, allowed))
            except ScenarioError as err:
                problems += [f"{path}: scenarios[{i}]: {line}" for line in err.problems]
        if not 1 <= len(spec.scenarios) <= 2:
            problems.append(f"{path}: scenarios: {spec.scenarios!r}: give one scenario, or two for paired outcomes")
    if problems:
        raise ScenarioError(problems)
    if len(scenarios) == 2:  # as compare: distinct names, the same years, district and catalogue names
        try:
            check_comparable(scenarios, [f"{path}: scenarios[{i}] ({name})" for i, name in enumerate(spec.scenarios)])
        except ScenarioError as err:
            problems += err.problems
    problems += _check_factors(spec, scenarios, path)
    problems += _check_outcomes(spec, scenarios, path)
    if problems:
        raise ScenarioError(problems)
    return Experiment(spec, scenarios, path)


def experiment_over(
    scenarios: list[Scenario],
    names: list[str],
    design: np.ndarray,
    outcomes: list[str],
    replicates: int = 1,
    seed: int = 1,
    where: str = "design",
) -> Experiment:
    """An experiment over a design matrix drawn elsewhere (SALib, the EMA Workbench), its columns the numbers
    `names` (scenario key paths); checked as experiment files are: each name a number of every scenario, the
    design's lowest and highest value of each allowed, each outcome known; two scenarios comparable (distinct
    names, the same years). Raise ScenarioError (lines start with `where`) before any run."""
    if len(scenarios) == 2:
        check_comparable(scenarios)
    design = np.atleast_2d(np.asarray(design, dtype=float))
    uncertainties = [
        Uncertainty(path=name, low=column.min(), high=column.max(), source=where)
        for name, column in zip(names, design.T, strict=True)
    ]
    spec = ExperimentSpec(
        name="design",
        description=where,
        replicates=replicates,
        seed=seed,
        design=Design(method="monte_carlo", samples=len(design)),
        uncertainties=uncertainties,
        outcomes=outcomes,
    )
    problems = _check_factors(spec, scenarios, where) + _check_outcomes(spec, scenarios, where)
    if problems:
        raise ScenarioError(problems)
    return Experiment(spec, scenarios, design=design)


def is_experiment(data: dict[str, Any]) -> bool:
    """An experiment file has a [design]; a scenario file never does."""
    return "design" in data


def design_points(spec: ExperimentSpec) -> int:
    """The number of design points the design will have, computed without drawing it."""
    d, k = spec.design, len(spec.uncertainties)
    if d.method == "grid":
        return math.prod(len(lever.values) for lever in spec.levers)
    if d.method == "morris":
        return (d.trajectories or 0) * (k + 1)
    samples = d.samples or 0
    if d.method == "sobol":
        return samples * (2 * k + 2 if d.second_order else k + 2)
    return samples * k if d.method == "fast" else samples


def _check_size(spec: ExperimentSpec, path: Path) -> list[str]:
    """A design larger than MAX_DESIGN_POINTS, before a byte of it is drawn."""
    points = design_points(spec)
    if points <= MAX_DESIGN_POINTS:
        return []
    key = {"grid": "levers", "morris": "design.trajectories"}.get(spec.design.method, "design.samples")
    runs = points * spec.replicates * max(1, len(spec.scenarios))
    gib = points * max(1, len(spec.uncertainties), len(spec.levers)) * 8 / 2**30
    return [
        f"{path}: {key}: {points:,} design points ({gib:,.1f} GiB for the design alone, {runs:,} model runs): more "
        f"than {MAX_DESIGN_POINTS:,}; give --allow-large to draw it anyway"
    ]


def _check_design(spec: ExperimentSpec, path: Path) -> list[str]:
    d, problems = spec.design, []
    k = len(spec.uncertainties)
    factors = [f.path for f in (spec.levers if d.method == "grid" else spec.uncertainties)]
    kind = "levers" if d.method == "grid" else "uncertainties"
    for i, factor in enumerate(factors):
        if factor in factors[:i]:
            first = factors.index(factor)
            problems.append(f"{path}: {kind}[{i}].path: {factor!r}: given twice (first as {kind}[{first}])")
    if d.method == "grid":
        if not spec.levers:
            problems.append(f"{path}: levers: []: a grid design needs at least one lever")
    elif k < (1 if d.method in ("latin", "monte_carlo") else 2):
        problems.append(f"{path}: uncertainties: {k} given: the {d.method} design needs at least 2")
    if d.method in ("sobol", "fast", "latin", "monte_carlo") and d.samples is None:
        problems.append(f"{path}: design.samples: missing: the {d.method} design needs a sample size")
    if d.method == "sobol" and d.samples and (d.samples & (d.samples - 1)):
        problems.append(f"{path}: design.samples: {d.samples}: Sobol needs a power of 2 (e.g. 256, 512, 1024)")
    if d.method == "fast" and d.samples and d.samples <= 4 * d.harmonics**2:
        problems.append(f"{path}: design.samples: {d.samples}: eFAST needs more than 4 x harmonics^2")
    if d.method == "morris":
        if d.trajectories is None:
            problems.append(f"{path}: design.trajectories: missing: the morris design needs trajectories (>= 2)")
        if d.levels % 2:
            problems.append(f"{path}: design.levels: {d.levels}: Morris needs an even number of levels")
    for i, u in enumerate(spec.uncertainties):
        where = f"{path}: uncertainties[{i}]"
        if not u.low < u.high:
            problems.append(f"{where}.high: {u.high}: must be greater than low ({u.low})")
        if u.distribution == "triangular" and (u.peak is None or not u.low <= u.peak <= u.high):
            problems.append(f"{where}.peak: {u.peak}: a triangular distribution needs low <= peak <= high")
        if u.distribution != "uniform" and d.method == "morris":
            problems.append(f"{where}.distribution: {u.distribution!r}: Morris supports uniform only")
    return problems


def _check_factors(spec: ExperimentSpec, scenarios: list[Scenario], path: Path | str) -> list[str]:
    """Each path must be a number of every scenario, and its bounds values the scenario allows."""
    problems = []
    if spec.model == "ishigami":
        if spec.design.method == "grid" or [u.path for u in spec.uncertainties] != ["x1", "x2", "x3"]:
            problems.append(f"{path}: uncertainties: the ishigami test model takes exactly x1, x2, x3")
        return problems
    factors = [("levers", i, lv, lv.values) for i, lv in enumerate(spec.levers)]
    factors += [("uncertainties", i, u, [u.low, u.high]) for i, u in enumerate(spec.uncertainties)]
    acting = [("factors_from_year", spec.factors_from_year)]
    acting += [(f"{kind}[{i}].from_year", factor.from_year) for kind, i, factor, _ in factors]
    if scenarios:  # comparable scenarios simulate the same years
        sim = scenarios[0].simulation
        first, last = first_year(scenarios[0]), sim.start_year + sim.horizon_years - 1
        problems += [
            f"{path}: {key}: {year}: outside the simulated years {first}-{last} (burn-in from {first}, "
            f"reported from {sim.start_year})"
            for key, year in acting
            if year is not None and not first <= year <= last
        ]
    for kind, i, factor, extremes in factors:
        for scenario in scenarios:
            for x in extremes:
                try:
                    scenario.with_values({factor.path: x}, relative=factor.relative)
                except ScenarioError as err:
                    problems.append(f"{path}: {kind}[{i}].path: {factor.path!r} = {x:g}: {err.problems[0]}")
                    break
    return list(dict.fromkeys(problems))


def _check_outcomes(spec: ExperimentSpec, scenarios: list[Scenario], path: Path | str) -> list[str]:
    allowed = ["y"] if spec.model == "ishigami" else available_outcomes(scenarios)
    return [
        f"{path}: outcomes[{i}]: {name!r}: unknown outcome; closest: "
        f"{', '.join(difflib.get_close_matches(name, allowed, n=3, cutoff=0))} ({len(allowed)} outcomes exist for "
        f"{max(1, len(scenarios))} scenario(s))"
        for i, name in enumerate(spec.outcomes)
        if name not in allowed
    ]


def available_outcomes(scenarios: list[Scenario]) -> list[str]:
    """Horizon figures of one scenario, or paired differences and economics of two."""
    stub = _one_run_comparison([_empty_result(s) for s in scenarios])
    return list(stub)


# --- running -------------------------------------------------------------------------------------


def run_batch(experiment: Experiment, batch: range) -> pd.DataFrame:
    """Outcomes of every run of a work unit: one row per (point, replicate), in that order. Deterministic."""
    seeds = replicate_seeds(experiment.spec.seed, experiment.spec.replicates)
    if experiment.spec.model == "ishigami":
        ys = {point: _ishigami(*experiment.design[point]) for point in batch}
        return pd.DataFrame([{"point": p, "replicate": r, "y": ys[p]} for p in batch for r in range(len(seeds))])
    scenarios = {point: experiment.scenarios_at(point) for point in batch}
    forks = {point: experiment.parting_month(scenarios[point]) for point in batch} if experiment.shared_past else {}
    rows = []
    for r, seed in enumerate(seeds):  # seed by seed: the unit's points that share a past reuse its snapshot
        for point in batch:
            if experiment.shared_past:
                values = run_shared(scenarios[point], seed, month=forks[point])
            else:
                values = run_separately(scenarios[point], seed)
            results = [_one_result(s, seed, v) for s, v in zip(scenarios[point], values, strict=True)]
            outcomes = _one_run_comparison(results)
            rows.append({"point": point, "replicate": r} | {k: outcomes[k] for k in experiment.spec.outcomes})
    return pd.DataFrame(rows).sort_values(["point", "replicate"], ignore_index=True)


def _ishigami(x1: float, x2: float, x3: float) -> float:
    """The Ishigami test function (Ishigami & Homma 1990), the test model of experiments."""
    return math.sin(x1) + ISHIGAMI_A * math.sin(x2) ** 2 + ISHIGAMI_B * x3**4 * math.sin(x1)


def _one_result(scenario: Scenario, seed: int, values: np.ndarray) -> SimulationResult:
    """One replicate (months x metrics) as a result, for the outcome figures of `run` and `compare`."""
    return SimulationResult(scenario, seed, [seed], values[None], 0.0)


def _empty_result(scenario: Scenario) -> SimulationResult:
    """A result of the right shape with dummy numbers: to list the outcome names without running."""
    metrics = Recorder(Catalogue.of(scenario), months=0).metrics
    return _one_result(scenario, 0, np.ones((scenario.simulation.horizon_years * 12, len(metrics))))


def _one_run_comparison(results: list[SimulationResult]) -> dict[str, float]:
    """The outcomes of one replicate: horizon figures (one scenario) or paired figures and economics (two)."""
    if len(results) == 1:
        totals = over_horizon(results[0].yearly().droplevel("replicate"))
        return {k: float(v) for k, v in totals.items()}
    comparison = Comparison(results)
    totals = over_horizon(comparison.differences().droplevel(["scenario", "replicate"]))
    flows = comparison.cash_flows().sum()
    economics = comparison.economics().iloc[0]
    return {k: float(v) for k, v in [*totals.items(), *flows.items(), *economics.items()]}


# --- evaluators ----------------------------------------------------------------------------------


class LocalEvaluator:
    """Work units in local worker processes (default: all cores), or in this process with one worker."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()

    def map_unordered(self, fn: Callable, experiment: Experiment, units: list[range]) -> Iterator[tuple]:
        if self.workers == 1:
            for unit in units:
                yield unit, fn(experiment, unit)
            return
        yield from map_unordered(self.workers, fn, ((unit, (experiment, unit)) for unit in units))


class DaskEvaluator:
    """Work units on a running Dask distributed cluster, given its scheduler address."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        self.client = Client(address, timeout="10s")

    def map_unordered(self, fn: Callable, experiment: Experiment, units: list[range]) -> Iterator[tuple]:
        from distributed import as_completed as dask_completed

        shared = self.client.scatter(experiment, broadcast=True)
        futures = {self.client.submit(fn, shared, unit, pure=False): unit for unit in units}
        try:
            for future in dask_completed(futures):
                yield futures[future], future.result()
        except BaseException:  # Ctrl-C or a failed unit: the cluster drops the queued units
            self.client.cancel(list(futures))
            raise

    def close(self) -> None:
        self.client.close()


# --- the folder of an experiment -----------------------------------------------------------------


def part_path(folder: Path, unit: range) -> Path:
    return folder / "runs" / f"part-{unit.start:07d}.parquet"


def run_experiment(
    experiment: Experiment,
    folder: Path,
    evaluator: LocalEvaluator | DaskEvaluator,
    on_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run the work units that have no part on disk yet; write each as soon as it finishes; return all runs."""
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    missing = [unit for unit in experiment.batches() if not part_path(folder, unit).exists()]
    with closing(evaluator.map_unordered(run_batch, experiment, missing)) as finished:  # closed: workers stop
        for unit, frame in finished:
            write_atomically(part_path(folder, unit), partial(frame.to_parquet, index=False))
            if on_done:
                on_done(len(unit) * experiment.spec.replicates)
    return collect_runs(folder)


def evaluate_points(experiment: Experiment, evaluator: LocalEvaluator | DaskEvaluator | None = None) -> pd.DataFrame:
    """Every design point's outcomes (mean over replicates), one row per point in design order, without files:
    the runs of `run_experiment`, for callers that analyse in memory (SALib, the EMA Workbench)."""
    evaluator = evaluator or LocalEvaluator(workers=1)
    frames = [frame for _, frame in evaluator.map_unordered(run_batch, experiment, experiment.batches())]
    runs = pd.concat(frames, ignore_index=True).sort_values(["point", "replicate"], ignore_index=True)
    return point_means(runs, experiment.spec.outcomes)


def collect_runs(folder: Path) -> pd.DataFrame:
    parts = sorted((folder / "runs").glob("part-*.parquet"))
    runs = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    return runs.sort_values(["point", "replicate"], ignore_index=True)


# --- analysis ------------------------------------------------------------------------------------


def point_means(runs: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    return runs.groupby("point")[outcomes].mean()


def replicate_noise(runs: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """How much of the variance of the analysed point means is replicate noise (0: none, 1: all)."""
    rows = []
    for outcome in outcomes:
        grouped = runs.groupby("point")[outcome]
        replicates = grouped.count().iloc[0]
        between = grouped.mean().var(ddof=1)
        within = grouped.var(ddof=1).mean() if replicates > 1 else np.nan
        noise = within / replicates if replicates > 1 else np.nan
        rows.append(
            {
                "outcome": outcome,
                "replicates_per_point": replicates,
                "variance_of_point_means": between,
                "mean_replicate_variance": within,
                "noise_share_of_point_mean_variance": noise / between if between > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


class Analysis(NamedTuple):
    indices: pd.DataFrame  # one row per (outcome, parameter)
    second_order: pd.DataFrame  # Sobol with second_order: one row per (outcome, parameter pair)
    notes: list[str]


def analyze(experiment: Experiment, runs: pd.DataFrame) -> Analysis:
    """Sensitivity indices per outcome with confidence intervals; outcomes with NaN are skipped, with a note."""
    d, outcomes, names = experiment.spec.design, experiment.spec.outcomes, experiment.names
    means = point_means(runs, outcomes)
    frames, pairs, notes = [], [], []
    if d.method in ("grid", "monte_carlo", "latin"):
        return Analysis(pd.DataFrame(), pd.DataFrame(), notes)
    for outcome in outcomes:
        y = means[outcome].to_numpy()
        if not np.isfinite(y).all():
            notes.append(f"{outcome}: {int((~np.isfinite(y)).sum())} design points without a value; not analysed")
            continue
        seed = experiment.spec.seed
        if d.method == "sobol":
            result = sobol_analyze.analyze(experiment.problem, y, calc_second_order=d.second_order, seed=seed)
            keys = ["S1", "S1_conf", "ST", "ST_conf"]
            if d.second_order:
                pairs += [
                    {"outcome": outcome, "parameter_1": names[i], "parameter_2": names[j]}
                    | {"S2": result["S2"][i, j], "S2_conf": result["S2_conf"][i, j]}
                    for i, j in itertools.combinations(range(len(names)), 2)
                ]
        elif d.method == "morris":
            result = morris_analyze.analyze(experiment.problem, experiment.design, y, num_levels=d.levels, seed=seed)
            keys = ["mu", "mu_star", "mu_star_conf", "sigma"]
        else:
            result = fast_analyze.analyze(experiment.problem, y, M=d.harmonics, seed=seed)
            keys = ["S1", "S1_conf", "ST", "ST_conf"]
        frame = pd.DataFrame({k: np.asarray(result[k], dtype=float) for k in keys})
        frame.insert(0, "parameter", names)
        frame.insert(0, "outcome", outcome)
        frames.append(frame)
    indices = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Analysis(indices, pd.DataFrame(pairs), notes)


def new_experiment_folder(experiment: Experiment, results_dir: Path) -> Path:
    """results/<experiment>-<timestamp>/ with the experiment file, the design and a manifest marked running."""
    folder = new_results_folder(results_dir, experiment.spec.name)
    if experiment.path:
        write_text(folder / "experiment.toml", experiment.path.read_text(encoding="utf-8"))
    design = pd.DataFrame(experiment.design, columns=experiment.names)
    design.index.name = "point"
    write_atomically(folder / "design.csv", design.to_csv)
    _write_status(folder, experiment, "running")
    return folder


def unfinished_folders(experiment: Experiment, results_dir: Path) -> list[Path]:
    """Folders of earlier runs of exactly this experiment (same content hash) that did not finish, oldest first."""
    found = []
    for manifest in sorted(results_dir.glob(f"{experiment.spec.name}-*/manifest.json")):
        content = json.loads(manifest.read_text(encoding="utf-8"))
        if content.get("experiment_hash") == experiment.content_hash and content.get("status") != "complete":
            found.append(manifest.parent)
    return found


def _write_status(folder: Path, experiment: Experiment, status: str, **extra: Any) -> None:
    write_manifest(
        folder,
        {
            "kind": "experiment",
            "experiment": experiment.spec.model_dump(mode="json"),
            "experiment_hash": experiment.content_hash,
            "scenarios": [{"name": s.name, "content_hash": s.content_hash} for s in experiment.scenarios],
            "design_points": len(experiment.design),
            "replicates": experiment.spec.replicates,
            "replicate_seeds": replicate_seeds(experiment.spec.seed, experiment.spec.replicates),
            "status": status,
            **extra,
        },
    )


def write_analysis(experiment: Experiment, folder: Path, runs: pd.DataFrame) -> dict[str, Any]:
    """outcomes.csv (every run), point_outcomes.csv (design + means), indices.csv, noise.csv, charts, manifest."""
    outcomes = experiment.spec.outcomes
    write_atomically(folder / "outcomes.csv", partial(runs.to_csv, index=False))
    means = point_means(runs, outcomes)
    design = pd.DataFrame(experiment.design, columns=experiment.names)
    points = design.join(means)
    points.index.name = "point"
    write_atomically(folder / "point_outcomes.csv", points.to_csv)
    noise = replicate_noise(runs, outcomes)
    write_atomically(folder / "noise.csv", partial(noise.to_csv, index=False))
    indices, second_order, notes = analyze(experiment, runs)
    if len(indices):
        write_atomically(folder / "indices.csv", partial(indices.to_csv, index=False))
    if len(second_order):
        write_atomically(folder / "indices_second_order.csv", partial(second_order.to_csv, index=False))
    charts = write_charts(folder, experiment.spec.design.method, indices, points, experiment.names, outcomes)
    _write_status(folder, experiment, "complete", runs=len(runs), notes=notes, charts=[c.name for c in charts])
    return {"indices": indices, "noise": noise, "notes": notes, "charts": charts}
