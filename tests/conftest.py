"""Shared fixtures: the baseline scenario, and small fast variants of it for invariant tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result

from model import Scenario, browser, load_scenario

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
ENGINE_WARM_UP = (
    "from model import DistrictModel, load_scenario\n"
    "from tests.conftest import BASELINE, shrink\n"
    "DistrictModel(shrink(load_scenario(BASELINE), 3_000, 1, 1), 1, microdata={microdata}).run()\n"
)


def pytest_configure(config: pytest.Config) -> None:
    """Before the test processes start (pytest-xdist), compile the engine into numba's cache on disk, plain and
    with microdata side by side: else each test process compiles the plain engine itself, 30-40 s of a core each,
    and one of them the microdata engine too."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    command = [sys.executable, "-c"]
    warm_ups = [subprocess.Popen([*command, ENGINE_WARM_UP.format(microdata=m)], cwd=ROOT) for m in (False, True)]
    for process in warm_ups:
        process.wait()  # a failure shows in the tests themselves


def shrink(scenario: Scenario, inhabitants: float = 5_000, burn_in_years: int = 3, horizon_years: int = 3) -> Scenario:
    """The same rules for a smaller district and a shorter run."""
    smaller = scenario.with_values({"district.inhabitants": inhabitants})
    simulation = smaller.simulation.model_copy(update={"burn_in_years": burn_in_years, "horizon_years": horizon_years})
    return smaller.model_copy(update={"simulation": simulation})


def write_tiny(folder: Path, name: str, extends: Path = BASELINE, extra: str = "") -> Path:
    """A scenario file `name`.toml in `folder`: `extends` in a tiny district (3,000 inhabitants), 1 year of burn-in
    and 2 of horizon, plus `extra` TOML; for experiments, which name scenario files."""
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nextends = "{extends}"\ndescription = "tiny"\n'
        '[district]\ninhabitants = { value = 3000, source = "test" }\n'
        f"[simulation]\nburn_in_years = 1\nhorizon_years = 2\n{extra}",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def small(baseline: Scenario) -> Scenario:
    return shrink(baseline)


def assert_recorded_invariants(frame: pd.DataFrame, helps: tuple[str, ...]) -> None:
    """Monthly records: stocks follow their flows, the states partition the population, nothing negative."""
    stock = frame[[f"stock.{h}" for h in helps]].to_numpy()
    begun = frame[[f"begun.{h}" for h in helps]].to_numpy()
    ended = frame[[f"ended.{h}" for h in helps]].to_numpy()
    np.testing.assert_array_equal(stock[1:], stock[:-1] + begun[1:] - ended[1:])
    states = frame[["state.home", "state.prevention_only", "state.waiting"]].sum(axis=1) + stock.sum(axis=1)
    np.testing.assert_array_equal(states, frame["families.residents"] + frame["families.unaccompanied"])
    assert (frame.to_numpy() >= 0).all(), "a negative count or cost"


def assert_clean_failure(result: Result, exit_code: int) -> list[str]:
    """A CLI invocation that failed as designed: the exit code, no exception but the exit, nothing on stderr
    that looks like a traceback; returns the non-empty lines of stderr (where problems are said)."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # an uncaught error would be here
    assert "Traceback" not in result.stderr, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


@contextmanager
def chromium(**options: Any) -> Iterator[Any]:
    """A headless Chromium (`browser.session`), quit afterwards; without Chromium a skip (CI: a failure)."""
    if not browser.available():
        (pytest.fail if os.environ.get("CI") else pytest.skip)(browser.MISSING)
    with browser.session(**options) as driver:
        yield driver


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """What tests recorded with `record_property` (e.g. the app's seconds to its first estimate), in the log."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            terminalreporter.write_line(f"{report.nodeid}: {name} = {value}")
