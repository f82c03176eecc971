"""The shared past: scenarios that agree until a year run that past once per seed, then part ways.

Under common random numbers a draw depends only on (seed, stream, month, family id) (`streams`), so two
scenarios run with the same seed whose resolved numbers (`YearParameters`, hence `Rules`) and catalogue agree
until January of some year have the same families and the same state on that day: their *fork point*.
`run_shared` simulates the common past once, keeps the model's state as plain arrays (`Snapshot`) and continues
each scenario from a copy; the results are bit-identical to full runs.

A snapshot is keyed by a content hash of what determines its past: the engine's source, the seed, the
simulation settings, the catalogue, every resolved number of the years before the fork and the fork month.
`Pasts` keeps snapshots in memory (and, given a folder, as .npz files) and never hands one out for a different
past.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np

from model.families import FIELDS
from model.parameters import Catalogue, YearParameters
from model.scenario import Scenario
from model.simulation import DistrictModel, Snapshot

# the engine's files: a change to any of them may change a past, so it changes every key
ENGINE_FILES = ("families.py", "kernels.py", "parameters.py", "recorder.py", "rules.py", "simulation.py", "streams.py")
SCALARS = ("month", "next_id", "next_unaccompanied_id", "birth_carry", "arrival_carry", "plan_carry")
PASTS_IN_MEMORY = 32  # snapshots kept per process: ~1 MB each for the baseline district (17,000 families)


def _feed(h: hashlib._Hash, value: object) -> None:
    """Add a value's type and content to a hash: numbers, strings, arrays, containers and dataclasses."""
    if isinstance(value, np.ndarray | np.generic):
        array = np.ascontiguousarray(value)
        h.update(f"array {array.dtype.str} {array.shape};".encode())
        h.update(array.tobytes())
    elif isinstance(value, dict):
        h.update(f"dict {len(value)};".encode())
        for key in sorted(value):
            _feed(h, key)
            _feed(h, value[key])
    elif isinstance(value, list | tuple):
        h.update(f"seq {len(value)};".encode())
        for item in value:
            _feed(h, item)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            if f.name != "year":  # when numbers were resolved is not a number of the model
                _feed(h, f.name)
                _feed(h, getattr(value, f.name))
    elif value is None or isinstance(value, bool | int | float | str):
        h.update(f"{type(value).__name__} {value!r};".encode())
    else:
        raise TypeError(f"no content hash for {type(value).__name__}")


def _digest(*values: object) -> str:
    h = hashlib.sha256()
    for value in values:
        _feed(h, value)
    return h.hexdigest()


@cache
def engine_digest() -> str:
    """SHA-256 of the engine's source files."""
    here = Path(__file__).resolve().parent
    return _digest(*((name, (here / name).read_bytes().hex()) for name in ENGINE_FILES))


def first_year(scenario: Scenario) -> int:
    """The year the burn-in starts."""
    return scenario.simulation.start_year - scenario.simulation.burn_in_years


def _setting(scenario: Scenario) -> str:
    """What fixes a past's shape before any yearly number: simulation settings and catalogue."""
    return _digest(scenario.simulation.model_dump(mode="json"), Catalogue.of(scenario))


def _numbers(scenario: Scenario, year: int) -> str:
    return _digest(YearParameters.of(scenario, year))


def fork_month(scenarios: Sequence[Scenario]) -> int:
    """The first month in which the scenarios' resolved numbers differ: January of the first year that
    differs (months since January of start_year, negative in burn-in); the burn-in's first month if their
    settings or catalogues differ; the end of the horizon if nothing differs."""
    reference = scenarios[0]
    sim = reference.simulation
    start = -12 * sim.burn_in_years
    if len({_setting(s) for s in scenarios}) > 1:
        return start
    first, last = first_year(reference), sim.start_year + sim.horizon_years
    # numbers change only in years of change: between them every scenario's numbers stay as they were
    changes = set().union(*(s.years_of_change() for s in scenarios))
    for year in sorted({first} | {y for y in changes if first < y < last}):
        if len({_numbers(s, year) for s in scenarios}) > 1:
            return 12 * (year - sim.start_year)
    return 12 * sim.horizon_years


def past_key(scenario: Scenario, seed: int, month: int) -> str:
    """Content hash of the scenario's past until `month` under `seed`."""
    sim = scenario.simulation
    years = sorted({first_year(scenario)} | {y for y in scenario.years_of_change() if y < sim.start_year + month // 12})
    resolved = [(y, _numbers(scenario, y)) for y in years if y >= first_year(scenario)]
    return _digest(engine_digest(), seed, month, _setting(scenario), resolved)


def save_snapshot(snapshot: Snapshot, path: Path, key: str) -> None:
    """An .npz file holding the snapshot and its key, written whole or not at all."""
    partial = path.with_name(path.stem + ".partial.npz")
    families = {f"family.{name}": values for name, values in snapshot.families.items()}
    scalars = {name: np.array(getattr(snapshot, name)) for name in SCALARS}
    np.savez(
        partial,
        key=np.array(key),
        places_taken=snapshot.places_taken,
        recorded=snapshot.recorded,
        **scalars,
        **families,
    )
    partial.replace(path)


def load_snapshot(path: Path, key: str) -> Snapshot | None:
    """The snapshot stored at `path` if it holds the past `key`, else None."""
    with np.load(path, allow_pickle=False) as stored:
        if str(stored["key"]) != key:
            return None
        return Snapshot(
            families={name: stored[f"family.{name}"] for name in FIELDS},
            places_taken=stored["places_taken"],
            recorded=stored["recorded"],
            **{name: stored[name].item() for name in SCALARS},
        )


class Pasts:
    """Snapshots of pasts by content hash: in memory (the most recent PASTS_IN_MEMORY), and in `folder` if given."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: OrderedDict[str, Snapshot] = OrderedDict()
        self.simulated = self.reused = 0  # pasts simulated here, pasts found in memory or on disk

    def get(self, scenario: Scenario, seed: int, month: int) -> Snapshot:
        """The state of `scenario` under `seed` at the beginning of `month`: found, or simulated and kept."""
        key = past_key(scenario, seed, month)
        snapshot = self._memory.get(key)
        path = self.folder / f"{key}.npz" if self.folder else None
        if snapshot is None and path is not None and path.exists():
            snapshot = load_snapshot(path, key)
        if snapshot is None:
            model = DistrictModel(scenario, seed)
            while model.month < month:
                model.step()
            snapshot = model.snapshot()
            self.simulated += 1
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                save_snapshot(snapshot, path, key)
        else:
            self.reused += 1
        self._memory[key] = snapshot
        self._memory.move_to_end(key)
        while len(self._memory) > PASTS_IN_MEMORY:
            self._memory.popitem(last=False)
        return snapshot


PASTS = Pasts()  # this process's snapshots (each worker process has its own)


def run_shared(
    scenarios: Sequence[Scenario], seed: int, pasts: Pasts | None = None, month: int | None = None
) -> list[np.ndarray]:
    """One replicate of each scenario (months x metrics), their common past simulated once: the same
    numbers as `DistrictModel(scenario, seed).run().values` for each. month: where to part, at most their
    `fork_month` (default: it; a caller whose runs share an earlier past with other runs gives that month)."""
    pasts = pasts or PASTS
    start = -12 * scenarios[0].simulation.burn_in_years
    if month is None:
        month = fork_month(scenarios) if len(scenarios) > 1 else start  # one scenario alone: nothing to share
    if month == start:
        return [DistrictModel(s, seed).run().values for s in scenarios]
    snapshot = pasts.get(scenarios[0], seed, month)
    return [DistrictModel(s, seed, past=snapshot).run().values for s in scenarios]
