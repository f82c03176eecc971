"""Ctrl-C and a killed main process, in real subprocesses: workers stop, finished work is kept, nothing orphaned."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from typer.testing import CliRunner

from model.cli import EXIT_INTERRUPTED, app
from tests.conftest import BASELINE, ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent on Linux")
STOP_LIMIT_S = 2.0
TINY = (
    f'extends = "{BASELINE}"\nname = "tiny"\ndescription = "tiny"\n'
    '[district]\ninhabitants = { value = 3000, source = "test" }\n'
    "[simulation]\nburn_in_years = 1\nhorizon_years = 2\n"
)
EXPERIMENT = (
    'name = "stoppable"\ndescription = "test"\nscenarios = ["tiny.toml"]\nreplicates = 2\nseed = 5\n'
    'points_per_batch = 1\noutcomes = ["begun_heimerziehung_34"]\n[design]\nmethod = "latin"\nsamples = 24\n'
    '[[uncertainties]]\npath = "prevention.familienhebamme.protection_half_life_months"\n'
    'low = 12\nhigh = 120\nsource = "test"\n'
)


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    (tmp_path / "tiny.toml").write_text(TINY, encoding="utf-8")
    path = tmp_path / "stoppable.toml"
    path.write_text(EXPERIMENT, encoding="utf-8")
    return path


def start(*args: object) -> subprocess.Popen:
    command = [sys.executable, "-m", "model.cli", *map(str, args)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition was not reached in time"
        time.sleep(0.1)


def workers_of(process: subprocess.Popen) -> list[psutil.Process]:
    """The worker processes: the children other than multiprocessing's resource tracker."""
    try:
        children = [(child, " ".join(child.cmdline())) for child in psutil.Process(process.pid).children()]
    except psutil.Error:  # a process ended meanwhile: ask again
        return []
    return [child for child, command in children if "resource_tracker" not in command]


def computing(process: psutil.Process) -> bool:
    """Alive and not a zombie (a zombie computes nothing and holds no memory; init reaps it when it gets to it)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(processes: list[psutil.Process], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while alive := [p.pid for p in processes if computing(p)]:
        assert time.monotonic() < deadline, f"workers still alive: {alive}"
        time.sleep(0.05)


def test_ctrl_c_stops_an_experiment_keeps_finished_units_and_resume_completes_it(experiment, tmp_path):
    results = tmp_path / "results"
    process = start("experiment", experiment, "--workers", "2", "--results", results)
    parts = lambda: list(results.glob("stoppable-*/runs/part-*.parquet"))  # noqa: E731
    wait_for(lambda: len(parts()) >= 2)
    workers = workers_of(process)
    assert len(workers) == 2
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    stopped_s = time.monotonic() - sent
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert stopped_s < STOP_LIMIT_S, f"took {stopped_s:.2f} s to stop"
    assert_gone(workers, 0.5)
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("interrupted:")]
    kept = len(parts())
    assert 2 <= kept < 24 and f"kept {kept} of 24 work units" in line, line
    resume = line.split("continue with: ")[1]
    args = shlex.split(resume)
    assert args[:2] == ["prevsim", "experiment"] and "--resume" in args
    (folder,) = results.glob("stoppable-*")
    before = {p.name: p.stat().st_mtime_ns for p in parts()}

    resumed = CliRunner().invoke(app, [*args[1:], "--workers", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert all(p.stat().st_mtime_ns == before[p.name] for p in parts() if p.name in before), "finished units re-run"
    whole = CliRunner().invoke(app, ["experiment", str(experiment), "--workers", "1", "--results", tmp_path / "whole"])
    assert whole.exit_code == 0, whole.output
    (uninterrupted,) = (tmp_path / "whole").glob("stoppable-*")
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "outcomes.csv"), pd.read_csv(uninterrupted / "outcomes.csv"), check_exact=True
    )


@pytest.mark.parametrize("command", ["run", "compare"])
def test_ctrl_c_stops_run_and_compare_and_writes_nothing(tmp_path, command):
    (tmp_path / "tiny.toml").write_text(TINY, encoding="utf-8")
    (tmp_path / "other.toml").write_text(TINY.replace('name = "tiny"', 'name = "other"'), encoding="utf-8")
    scenarios = [tmp_path / "tiny.toml"] + ([tmp_path / "other.toml"] if command == "compare" else [])
    results = tmp_path / "results"
    process = start(command, *scenarios, "--replicates", "40", "--workers", "2", "--results", results)
    wait_for(lambda: len(workers_of(process)) == 2 and any(results.glob("*")))
    workers = workers_of(process)
    time.sleep(3)  # into the runs
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert time.monotonic() - sent < STOP_LIMIT_S
    assert_gone(workers, 0.5)
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("interrupted: nothing written (")]
    assert not list(results.iterdir()), "an interrupted run leaves no folder"


def test_killed_main_process_leaves_no_worker(experiment, tmp_path):
    results = tmp_path / "results"
    process = start("experiment", experiment, "--workers", "2", "--results", results)
    wait_for(lambda: any(results.glob("stoppable-*/runs/part-*.parquet")))  # the workers compute
    workers = workers_of(process)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert_gone(workers, 5)


def test_a_second_ctrl_c_exits_at_once(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY, encoding="utf-8")
    process = start("run", tmp_path / "tiny.toml", "--replicates", "40", "--workers", "2", "--results", tmp_path)
    wait_for(lambda: len(workers_of(process)) == 2)
    workers = workers_of(process)
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    process.communicate(timeout=30)
    assert process.returncode == EXIT_INTERRUPTED
    assert time.monotonic() - sent < STOP_LIMIT_S
    assert_gone(workers, 5)
