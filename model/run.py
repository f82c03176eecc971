"""Running replicates of a scenario, and their results: time series, yearly figures, summary, files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from model.calibration import calibration_table, over_horizon, yearly_figures
from model.ensemble import Ensemble
from model.output import EXIT_BAD_INPUT, OutputError, write_atomically, write_text
from model.parameters import Catalogue
from model.past import run_shared
from model.recorder import Recorder
from model.scenario import Scenario, ScenarioError
from model.simulation import DistrictModel
from model.uncertainty import drawn, mode, run_drawn
from model.workers import map_unordered

SUMMARY_QUANTILES = (0.05, 0.95)
BYTES_PER_FAMILY = 160  # peak bytes per family of a run at 1,000,000 families: 153-157 (docs/performance.md)
PROCESS_BYTES = 320 * 2**20  # a worker process with the compiled model loaded, before families (issue 15: ~320 MB)


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """Independent seeds for the replicates of a run: SeedSequence(seed).spawn(n)."""
    return [
        int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        for child in np.random.SeedSequence(seed).spawn(replicates)
    ]


def run_replicate(scenario: Scenario, seed: int) -> np.ndarray:
    """One replicate: the monthly metrics (months x metrics)."""
    return DistrictModel(scenario, seed).run().values


def memory_needed_bytes(scenario: Scenario, workers: int) -> float:
    """Estimated memory of `workers` runs of `scenario` at once: one slot per child under 21 at its largest."""
    d = scenario.district
    years = {-1, *d.inhabitants.by_year, *d.under_21_share.by_year}
    children = max(d.inhabitants.at(year) * d.under_21_share.at(year) for year in years)
    return workers * (PROCESS_BYTES + children * BYTES_PER_FAMILY)


def check_memory(scenarios: list[Scenario], files: list[str], workers: int | None) -> None:
    """A ScenarioError if the runs would need more memory than the machine has (one line per scenario)."""
    import psutil

    workers = workers or default_workers()
    total = psutil.virtual_memory().total
    problems = [
        f"{file}: district.inhabitants: {s.district.inhabitants.value:,.0f}: {workers} run(s) at once need about "
        f"{memory_needed_bytes(s, workers) / 2**30:,.1f} GiB ({BYTES_PER_FAMILY} bytes per child under 21), more "
        f"than this machine's {total / 2**30:,.1f} GiB; give fewer --workers, or --allow-large to try anyway"
        for s, file in zip(scenarios, files, strict=True)
        if memory_needed_bytes(s, workers) > total
    ]
    if problems:
        raise ScenarioError(problems)


def replicate_microdata(scenario: Scenario, seed: int, replicate: int) -> dict[str, pd.DataFrame]:
    """One replicate's microdata tables (`model.microdata`), its rows marked with `replicate`."""
    model = DistrictModel(scenario, seed, microdata=True)
    model.microdata.replicate = replicate
    model.run()
    return model.microdata.tables()


def write_microdata(out: Path, tables: dict[str, pd.DataFrame]) -> None:
    """<table>.parquet for each microdata table, each whole or not at all."""
    for name, table in tables.items():
        write_atomically(out / f"{name}.parquet", lambda path, table=table: table.to_parquet(path, index=False))


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@dataclass
class SimulationResult:
    scenario: Scenario
    seed: int
    seeds: list[int]
    values: np.ndarray  # replicate x month x metric, in the order of Recorder.metrics
    wall_time_s: float
    uncertainty: bool = False  # each replicate ran with its own draw of the uncertain numbers (`model.uncertainty`)
    ensemble: Ensemble | None = None  # with `uncertainty`: a district's parameter sets drawn from (`model.ensemble`)
    catalogue: Catalogue = field(init=False)
    metrics: list[str] = field(init=False)
    _yearly: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.catalogue = Catalogue.of(self.scenario)
        self.metrics = Recorder(self.catalogue, months=0).metrics

    @property
    def start_year(self) -> int:
        return self.scenario.simulation.start_year

    def scenario_of(self, replicate: int) -> Scenario:
        """The scenario as replicate `replicate` ran it: with parameter uncertainty, its numbers as drawn."""
        return drawn(self.scenario, self.seeds[replicate], self.ensemble) if self.uncertainty else self.scenario

    def wide(self) -> pd.DataFrame:
        """One row per (replicate, month), one column per metric."""
        r, m, k = self.values.shape
        index = pd.MultiIndex.from_product([range(r), range(m)], names=["replicate", "month"])
        return pd.DataFrame(self.values.reshape(r * m, k), index=index, columns=self.metrics)

    def timeseries(self) -> pd.DataFrame:
        """Tidy: replicate, month, metric, value."""
        long = self.wide().stack().rename("value").reset_index()
        return long.rename(columns={"level_2": "metric"})

    def yearly(self) -> pd.DataFrame:
        """Figures per (replicate, calendar year), counted as the national statistics count (computed once;
        summaries, comparisons and economics all read it: do not modify the frame)."""
        if self._yearly is None:
            self._yearly = self._yearly_figures()
        return self._yearly

    def _yearly_figures(self) -> pd.DataFrame:
        frames = []
        for replicate in range(len(self.seeds)):
            y = yearly_figures(pd.DataFrame(self.values[replicate], columns=self.metrics), self.catalogue)
            y.index = pd.MultiIndex.from_product([[replicate], y.index + self.start_year], names=["replicate", "year"])
            frames.append(y)
        return pd.concat(frames)

    def summary(self) -> pd.DataFrame:
        """Per year and over the horizon (year 'horizon', as in comparison.csv; `calibration.over_horizon`: counts
        and cost summed, rates the mean of the years): mean, 5 and 95 % over replicates."""
        yearly = self.yearly()
        horizon = over_horizon(yearly, ["replicate"])
        horizon.index = pd.MultiIndex.from_product([horizon.index, ["horizon"]], names=["replicate", "year"])
        both = pd.concat([yearly.rename(index=str, level="year"), horizon])
        grouped = both.groupby(level="year", sort=False)
        low, high = SUMMARY_QUANTILES
        table = pd.concat(
            {"mean": grouped.mean(), "p05": grouped.quantile(low), "p95": grouped.quantile(high)}, names=["statistic"]
        )
        return table.stack().rename("value").unstack("statistic").reset_index().rename(columns={"level_1": "figure"})

    def microdata(self) -> dict[str, pd.DataFrame]:
        """helps, census, assessments and population (`model.microdata`) of every replicate, concatenated: the same runs
        again with the event log on (a run depends only on the scenario and its seed, so they are the runs
        whose figures this result holds; tests/test_microdata.py checks it)."""
        parts = [replicate_microdata(self.scenario_of(r), seed, r) for r, seed in enumerate(self.seeds)]
        return {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}

    def calibration(self) -> pd.DataFrame:
        return calibration_table(self.yearly())

    def write(self, results_dir: Path, name: str | None = None) -> Path:
        """Write timeseries.parquet, summary.csv and manifest.json into a new folder; never overwrite."""
        return self.write_into(new_results_folder(results_dir, name or self.scenario.name))

    def write_into(self, out: Path, microdata: bool = False) -> Path:
        """Write the files into the (new, empty) folder `out`, each whole or not at all, the manifest last;
        with `microdata` also helps, census, assessments and population.parquet (`microdata()`)."""
        write_atomically(out / "timeseries.parquet", lambda path: self.timeseries().to_parquet(path, index=False))
        write_atomically(out / "summary.csv", lambda path: self.summary().to_csv(path, index=False))
        if microdata:
            write_microdata(out, self.microdata())
        write_manifest(out, self.manifest())
        return out

    def manifest(self) -> dict:
        return {
            "scenario_name": self.scenario.name,
            "scenario_content_hash": self.scenario.content_hash,
            "scenario": self.scenario.model_dump(mode="json"),
            "seed": self.seed,
            "replicate_seeds": self.seeds,
            "replicates": len(self.seeds),
            "start_year": self.start_year,
            "horizon_years": self.scenario.simulation.horizon_years,
            "wall_time_s": round(self.wall_time_s, 3),
            "uncertainty": mode(self.uncertainty),
        }


def new_results_folder(results_dir: Path, name: str) -> Path:
    """A new folder <name>-<timestamp> (with -2, -3, ... if taken): results are never overwritten."""
    base = results_dir / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    out, suffix = base, 1
    while True:
        try:
            out.mkdir(parents=True)
            return out
        except FileExistsError:
            if not results_dir.is_dir():
                raise OutputError(results_dir, "exists and is not a folder", EXIT_BAD_INPUT) from None
            suffix += 1
            out = base.with_name(f"{base.name}-{suffix}")
        except OSError as err:
            raise OutputError.of(out, err) from None


def manifest_of(content: dict) -> dict:
    """What was run, plus where and with what (git commit, Python, package versions)."""
    return {
        **content,
        "created": datetime.now().isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in ("prevsim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic")},
    }


def write_manifest(folder: Path, content: dict) -> dict:
    """manifest.json (`manifest_of` the content), the last file of a results folder; returned."""
    content = manifest_of(content)
    write_text(folder / "manifest.json", json.dumps(content, indent=2))
    return content


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        done = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return done.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def simulate(
    scenario: Scenario,
    replicates: int = 20,
    seed: int = 1,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run `replicates` replicates of `scenario`; identical output for any number of worker processes.
    The defaults are those of `prevsim run` (20 replicates, seed 1)."""
    return simulate_many([scenario], replicates, seed, workers, on_done)[0]


def simulate_many(
    scenarios: list[Scenario],
    replicates: int = 1,
    seed: int = 0,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
    shared_past: bool = True,
    uncertainty: bool = False,
    ensemble: Ensemble | None = None,
) -> list[SimulationResult]:
    """Run every scenario with the same replicate seeds (common random numbers), all runs in one pool.

    A work unit is one replicate of every scenario; with `shared_past` their common past is simulated once
    (`model.past`: the same numbers as full runs); with `uncertainty` each replicate first draws the
    scenarios' uncertain numbers (`model.uncertainty`: the same draw for every scenario), and a parameter set of
    the `ensemble` if one is given (ignored without `uncertainty`)."""
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    seeds = replicate_seeds(seed, replicates)
    run = run_shared if shared_past else run_separately
    if uncertainty:
        run = partial(run_drawn, run, ensemble=ensemble)
    workers = min(workers or default_workers(), replicates)
    started = time.perf_counter()
    runs: dict[int, list[np.ndarray]] = {}
    done = 0

    def finished(r: int, values: list[np.ndarray]) -> None:
        nonlocal done
        runs[r] = values
        for _ in values:
            if on_done:
                on_done(done)
            done += 1

    if workers == 1:
        for r, replicate_seed in enumerate(seeds):
            finished(r, run(scenarios, replicate_seed))
    else:
        results = map_unordered(
            workers, run, ((r, (scenarios, replicate_seed)) for r, replicate_seed in enumerate(seeds))
        )
        with closing(results):
            for r, values in results:
                finished(r, values)
    wall_time_s = time.perf_counter() - started
    return [
        SimulationResult(
            scenario,
            seed,
            seeds,
            np.stack([runs[r][s] for r in range(replicates)]),
            wall_time_s,
            uncertainty,
            ensemble if uncertainty else None,
        )
        for s, scenario in enumerate(scenarios)
    ]


def run_separately(scenarios: list[Scenario], seed: int) -> list[np.ndarray]:
    """One replicate of each scenario, each run from the beginning of its burn-in."""
    return [run_replicate(scenario, seed) for scenario in scenarios]
