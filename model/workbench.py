"""What the planner's workbench (`prevsim app`, model/app.py) computes, apart from its pages: the scenario files
to choose from, the levers of a plan, progressive comparisons in worker processes, and saving a plan.

A comparison here is the one of `prevsim compare`: the same runs (`past.run_shared` per replicate seed, common
random numbers), the same `Comparison` written into a folder and read back by the briefing's code, so every
figure the app shows has the definition it has in comparison.csv and the briefing.
"""

from __future__ import annotations

import datetime
import functools
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from model.comparison import Comparison, check_comparable
from model.labels import label_or_key
from model.past import Pasts, fork_month, run_shared
from model.report import ComparisonResults, read_comparison, write_briefing
from model.run import SimulationResult, default_workers, new_results_folder, replicate_seeds
from model.scenario import Scenario, ScenarioError, load_scenario, programme_on, read_toml, unit_of
from model.simulation import Snapshot
from model.workers import WorkerPool

# `prevsim app` passes its options to the page's server through these environment variables
SCENARIOS_ENV = "PREVSIM_APP_SCENARIOS"  # the folder of scenario files
RESULTS_ENV = "PREVSIM_APP_RESULTS"
WORKERS_ENV = "PREVSIM_APP_WORKERS"
REPLICATES_ENV = "PREVSIM_APP_REPLICATES"  # the runs a page starts with
DEFAULT_REPLICATES = 20  # the briefing's draft size: a 90 % band from 20 paired runs is already usable in a meeting

STOP_POLL_S = 0.1  # how soon a changed input stops the runs of the old one
FIRST_ESTIMATE_REPLICATES = 4  # under common random numbers the paired difference of 4 replicates is already stable
DISTRICTS_FOLDER = "districts"  # calibrated districts live in scenarios/districts/
PLAN_NAME = "plan"  # the plan's name in a comparison until it is saved under its own
ESTIMATES_KEPT = 4  # estimate folders kept: the one shown and those that may still be drawn
RUNS_KEPT = 160  # runs (one replicate of one scenario) kept in the server: about 0.6 MB each (baseline district)
BRIEFING_OAT_REPLICATES = 2  # the briefing's one-at-a-time runs from the app: few, it is a draft for a meeting


# Solara's settings, set before Solara is first imported (`prevsim app`): no telemetry, its page assets from the
# solara-assets package instead of a CDN (nothing leaves this machine), no reloading of changed source files
OFFLINE_SETTINGS = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_MODE": "production",
    "SOLARA_APP": "model.app",
}


# --- the scenario files ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A scenario file to pick: its path, name and title in each language."""

    path: Path
    name: str
    title: dict[str, str]

    def shown(self, lang: str) -> str:
        return self.title.get(lang, self.name.replace("_", " "))


def _files(folder: Path) -> tuple[tuple[Path, int, int], ...]:
    """The scenario files in `folder` and its districts/ with their modification times and sizes."""
    paths = sorted([*folder.glob("*.toml"), *(folder / DISTRICTS_FOLDER).glob("*.toml")])
    stats = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        stats.append((path, stat.st_mtime_ns, stat.st_size))
    return tuple(stats)


def choices(folder: Path) -> tuple[list[Choice], list[Choice]]:
    """(districts, programmes) in `folder`: a district is a file without `extends`, a file that sets its own
    `district.inhabitants` (what `prevsim calibrate` writes) or a scenario file under districts/; a programme is
    any other scenario file (it changes a district). Files that do not load are left out. Read
    again only when a file is added, removed or changed (the page asks on every change of a lever)."""
    districts, programmes = _choices(_files(folder))
    return list(districts), list(programmes)


@functools.lru_cache(maxsize=4)
def _choices(files: tuple[tuple[Path, int, int], ...]) -> tuple[tuple[Choice, ...], tuple[Choice, ...]]:
    districts, programmes = [], []
    for path, _, _ in files:
        try:
            raw = read_toml(path)
            scenario = load_scenario(path)
        except ScenarioError:
            continue
        choice = Choice(path, scenario.name, dict(scenario.title))
        own_population = "inhabitants" in raw.get("district", {})  # a calibrated district; a programme has none
        is_district = "extends" not in raw or own_population or path.parent.name == DISTRICTS_FOLDER
        (districts if is_district else programmes).append(choice)
    return tuple(districts), tuple(programmes)


def on_district(programme: Path, district: Path) -> Scenario:
    """The programme's changes applied to the district (`scenario.programme_on`)."""
    return programme_on(district, programme)


def scenario_of(district: Path, programme: Path | None = None) -> Scenario:
    """The district's scenario, or the programme on it (`on_district`): loaded again only when a scenario file
    beside them (or in the scenarios folder above districts/) is added, removed or changed. Do not modify it."""
    folders = {district.parent, *([programme.parent] if programme else [])}
    folders |= {f.parent for f in folders if f.name == DISTRICTS_FOLDER}
    return _scenario_of(district, programme, tuple(stat for f in sorted(folders) for stat in _files(f)))


@functools.lru_cache(maxsize=16)
def _scenario_of(district: Path, programme: Path | None, _files: tuple[tuple[Path, int, int], ...]) -> Scenario:
    return on_district(programme, district) if programme else load_scenario(district)


# --- levers ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lever:
    """A number of the plan the app offers to change: key path, label, unit, value in force, source, bounds."""

    key: str
    label: str
    unit: str
    value: float
    source: str
    low: float
    high: float
    step: float
    slider: bool  # a budget: moved with a slider


def _bounds(key: str, value: float) -> tuple[float, float, float, bool]:
    """Low, high, step, slider for a key: budgets up to four times the value (at least 400,000 EUR), shares and
    probabilities 0..1, ratios 0..3, others 0..four times the value."""
    if key.endswith("budget_eur_per_year"):
        return 0.0, max(400_000.0, 4 * value), 1_000.0, True
    unit = unit_of(key) or ""
    if unit in ("probability", "share"):
        return 0.0, 1.0, 0.01, False
    if unit == "ratio":
        return 0.01, 3.0, 0.01, False
    return 0.0, max(1.0, 4 * value), 1.0, False


def levers(scenario: Scenario, lang: str) -> list[Lever]:
    """The main levers of a plan: budgets of the prevention services and of the helps bought by budget, places,
    the § 34 daily rate, placement steering (policy) and the protective effects' half-lives; each with the value
    in force in the horizon's last year (a ramp-up's full scale)."""
    last = scenario.simulation.start_year + scenario.simulation.horizon_years - 1
    wanted = []
    for key, p in scenario.parameters():
        parts = key.split(".")
        if isinstance(p.value, list):
            continue
        main = (
            (parts[0] == "prevention" and parts[-1] in ("budget_eur_per_year", "protection_half_life_months"))
            or (parts[0] == "helps" and parts[-1] in ("budget_eur_per_year", "places"))
            or key == "helps.heimerziehung_34.cost_per_day_eur"
            or parts[0] == "policy"
        )
        if main:
            value = p.at(last)
            low, high, step, slider = _bounds(key, value)
            wanted.append(
                Lever(key, label_or_key(key, lang), unit_of(key) or "", value, p.source, low, high, step, slider)
            )
    order = ("prevention", "helps", "policy")
    return sorted(wanted, key=lambda lever: (order.index(lever.key.split(".")[0]), not lever.slider))


def plan(base: Scenario, changes: dict[str, float]) -> Scenario:
    """The base with the changed numbers, each from the start year on (a ramp-up in the file is replaced; the
    burn-in keeps the file's numbers, so the plan shares the district's past until the start year and a change
    re-runs only the horizon), named PLAN_NAME; a ScenarioError with one line per value the schema does not
    allow."""
    named = base.model_copy(update={"name": PLAN_NAME, "title": {"de": "Ihr Plan", "en": "Your plan"}})
    return named.with_values(changes, from_year=base.simulation.start_year) if changes else named


# --- progressive comparisons ----------------------------------------------------------------------------------


class Engine:
    """Worker processes for the app's runs, and a folder of snapshots of shared pasts (one per district, seed and
    fork month) that the workers share; `close` ends both. The runs already made are kept (the most recent
    RUNS_KEPT): a run depends only on its scenario and seeds, so the reference's runs serve every later change
    and a lever moved back shows at once."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self.pool = WorkerPool(self.workers)
        self.folder = Path(tempfile.mkdtemp(prefix="prevsim-app-"))
        self.pasts = self.folder / "pasts"
        self.estimates: list[Path] = []  # folders of the latest estimates, oldest first
        self.runs: OrderedDict[tuple[str, int, int], SimulationResult] = OrderedDict()
        self.lock = threading.Lock()  # each page's work thread reads and adds runs

    def run(self, key: tuple[str, int, int]) -> SimulationResult | None:
        """A kept run (scenario's content hash, seed, replicate seed), or None."""
        with self.lock:
            if key in self.runs:
                self.runs.move_to_end(key)
            return self.runs.get(key)

    def keep(self, key: tuple[str, int, int], result: SimulationResult) -> None:
        with self.lock:
            self.runs[key] = result
            self.runs.move_to_end(key)
            while len(self.runs) > RUNS_KEPT:
                self.runs.popitem(last=False)

    def close(self) -> None:
        self.pool.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


_PASTS: dict[Path, Pasts] = {}  # in each worker: the snapshots of the engine's folder it has used


def _pasts(folder: Path) -> Pasts:
    return _PASTS.setdefault(folder, Pasts(folder))


def _past(scenario: Scenario, seed: int, month: int, folder: Path) -> Snapshot:
    """In a worker: the scenario's past until `month`, simulated (or found) and kept in the worker and folder."""
    return _pasts(folder).get(scenario, seed, month)


def start_of_horizon(engine: Engine, scenario: Scenario, seed: int) -> Snapshot:
    """The scenario's state in January of its start year under `seed` (the past simulated in a worker, or found
    among the engine's snapshots): where the live view's run begins."""
    return engine.pool.submit(_past, scenario, seed, 0, engine.pasts).result()


def warm_up(engine: Engine, reference: Scenario, base: Scenario, replicates: int = FIRST_ESTIMATE_REPLICATES) -> None:
    """Start the workers on the pasts a page's first estimates continue from: the reference's until it parts
    from `base`, and until the start year, where a changed lever parts (`plan`). Queued before any page's runs,
    so the first estimate waits for them instead of simulating them again."""
    fork = fork_month([reference, base])
    burn_in = -12 * reference.simulation.burn_in_years
    for seed in replicate_seeds(1, replicates):
        for month in sorted({fork, min(fork, 0)} - {burn_in}):  # from the burn-in's start nothing is shared
            engine.pool.submit(_past, reference, seed, month, engine.pasts)


def _replicate(
    scenarios: list[Scenario], seed: int, replicate_seed: int, folder: Path, month: int | None = None
) -> list[SimulationResult]:
    """One replicate of every scenario with its yearly figures, in a worker (so that the main process only
    summarises): the common past from the engine's snapshot folder, parting at `month` (`run_shared`)."""
    runs = run_shared(scenarios, replicate_seed, _pasts(folder), month)
    results = [
        SimulationResult(s, seed, [replicate_seed], values[None], 0.0)
        for s, values in zip(scenarios, runs, strict=True)
    ]
    for result in results:
        result.yearly()
    return results


@dataclass
class Estimate:
    """A comparison of `done` of `replicates` replicates, as the briefing reads it."""

    results: ComparisonResults
    done: int
    replicates: int

    @property
    def final(self) -> bool:
        return self.done == self.replicates


def progressive(
    engine: Engine,
    scenarios: list[Scenario],
    replicates: int,
    seed: int = 1,
    first: int = FIRST_ESTIMATE_REPLICATES,
    stop: threading.Event | None = None,
) -> Iterator[Estimate]:
    """Estimates of the comparison of `scenarios` (the first the reference) as replicates finish: after `first`,
    then each time the count doubles, and the full result. Only the runs the engine does not keep yet are
    computed (a change of the plan runs the plan alone: the reference's runs are kept), each from the scenarios'
    common past as `prevsim compare` runs them (the same numbers); the runs beyond the first estimate are queued
    once it has been taken, so that the workers leave the page's process the machine while it shows it. Closing
    the iterator, or setting `stop` (looked at every STOP_POLL_S while waiting), cancels the queued runs."""
    check_comparable(scenarios)
    seeds = replicate_seeds(seed, replicates)
    hashes = [s.content_hash for s in scenarios]
    month = fork_month(scenarios) if len(scenarios) > 1 else None
    runs: dict[int, list[SimulationResult]] = {}
    futures: dict[Future, int] = {}
    kept: dict[int, list[SimulationResult | None]] = {}

    def queue(numbers: range) -> set[Future]:
        """Submit the runs of these replicates that are not kept; the futures submitted."""
        submitted = set()
        for r in numbers:
            kept[r] = [engine.run((h, seed, seeds[r])) for h in hashes]
            missing = [s for s, k in zip(scenarios, kept[r], strict=True) if k is None]
            if missing:
                future = engine.pool.submit(_replicate, missing, seed, seeds[r], engine.pasts, month)
                futures[future] = r
                submitted.add(future)
            else:
                runs[r] = [k for k in kept.pop(r) if k is not None]
        return submitted

    def finish(r: int, computed: list[SimulationResult]) -> None:
        made = iter(computed)
        runs[r] = [k if k is not None else next(made) for k in kept.pop(r)]
        for h, result in zip(hashes, runs[r], strict=True):
            engine.keep((h, seed, seeds[r]), result)

    first = min(first, replicates)
    pending = queue(range(first))
    shown = 0
    try:
        while shown < replicates:
            due = first if shown == 0 else min(2 * shown, replicates)
            while len(runs) < due:
                finished, pending = wait(pending, timeout=STOP_POLL_S, return_when=FIRST_COMPLETED)
                if stop is not None and stop.is_set():
                    return
                for future in finished:
                    finish(futures[future], future.result())
            shown = len(runs)
            yield Estimate(_results(engine, runs), shown, replicates)
            if shown == first:  # the first estimate has been taken: now the rest
                pending |= queue(range(first, replicates))
    finally:
        for future in futures:
            future.cancel()


def _results(engine: Engine, runs: dict[int, list[SimulationResult]]) -> ComparisonResults:
    """The comparison of the finished replicates, written as `prevsim compare` writes it (without the Excel
    files) and read back."""
    done = sorted(runs)
    results = [SimulationResult.joined([runs[r][i] for r in done]) for i in range(len(runs[done[0]]))]
    folder = new_results_folder(engine.folder / "estimates", "estimate")
    Comparison(results).write_into(folder, workbooks=False)
    engine.estimates.append(folder)
    while len(engine.estimates) > ESTIMATES_KEPT:  # the charts read an estimate's time series while shown
        shutil.rmtree(engine.estimates.pop(0), ignore_errors=True)
    return read_comparison(folder)


# --- saving ---------------------------------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scenario_toml(
    name: str, extends: list[str], description: str, planned: Scenario, keys: list[str], source: str, lang: str
) -> str:
    """A scenario file that extends the district and programme files and sets the numbers `keys` of the plan
    `planned` (value and changes by year, as `plan` made them), each with `source` (e.g. "set in prevsim app,
    2026-12-02"; the planner may give a better one)."""
    numbers = dict(planned.parameters())
    lines = [
        "# Written by prevsim app: the plan's numbers that differ from the files it extends.",
        "",
        f"extends = [{', '.join(_toml_string(e) for e in extends)}]",
        f"name = {_toml_string(name)}",
        f"description = {_toml_string(description)}",
        f"title = {{ {lang} = {_toml_string(name.replace('_', ' '))} }}",
    ]
    sections: dict[str, list[str]] = {}
    for key in keys:
        section, _, number = key.rpartition(".")
        p = numbers[key]
        by_year = ", ".join(f"{year} = {v!r}" for year, v in sorted(p.by_year.items()))
        sections.setdefault(section, []).append(
            f"{number} = {{ value = {p.value!r}, by_year = {{ {by_year} }}, source = {_toml_string(source)} }}"
        )
    for section, rows in sections.items():
        lines += ["", f"[{section}]", *rows]
    return "\n".join(lines) + "\n"


def default_source(today: datetime.date | None = None) -> str:
    return f"set in prevsim app, {(today or datetime.date.today()).isoformat()}"


def save_scenario(folder: Path, file_name: str, text: str) -> Path:
    """Write `text` as folder/file_name (.toml added) and load it as `prevsim validate` does; an existing file is
    never overwritten, and a file that does not validate is removed again. ScenarioError on any problem."""
    name = file_name.strip().removesuffix(".toml")
    if not name or not all(c.isalnum() or c in "_-." for c in name):
        raise ScenarioError([f"file name: {file_name!r}: use letters, digits, _ - . only"])
    path = folder / f"{name}.toml"
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise ScenarioError([f"{path}: exists; a file is never overwritten, give another name"]) from None
    try:
        load_scenario(path)
    except ScenarioError:
        path.unlink()
        raise
    return path


def briefing_for(
    scenario_files: list[Path], replicates: int, seed: int, lang: str, results: Path, workers: int = 1
) -> Path:
    """Compare the saved files as `prevsim compare --briefing` does (the first the reference) into a new folder
    under `results` and write the briefing there (run it in a worker process: it takes minutes)."""
    from model.comparison import compare

    scenarios = [load_scenario(path) for path in scenario_files]
    comparison = compare(scenarios, replicates, seed, workers)
    folder = comparison.write_into(new_results_folder(results, f"app-{scenarios[-1].name}"))
    return write_briefing(folder, lang, oat_replicates=BRIEFING_OAT_REPLICATES, workers=workers)
