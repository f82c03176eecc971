"""Results paths are checked before computing; a file appears whole or not at all; failures are one line."""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from model.cli import EXIT_BAD_INPUT, app
from model.output import EXIT_ENVIRONMENT, OutputError, write_atomically, write_text
from model.simulation import DistrictModel
from tests.conftest import BASELINE, ROOT, assert_clean_failure

TINY = (
    f'extends = "{BASELINE}"\nname = "tiny"\ndescription = "tiny"\n'
    '[district]\ninhabitants = { value = 3000, source = "test" }\n'
    "[simulation]\nburn_in_years = 1\nhorizon_years = 2\n"
)
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2  # <linux/prctl.h>, <linux/capability.h>


def run_args(scenario: Path, results: Path) -> list[str]:
    return ["run", str(scenario), "--replicates", "1", "--workers", "1", "--results", str(results)]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.mark.parametrize("where", ["is-a-file", "below-a-file"])
@pytest.mark.parametrize("command", ["run", "compare", "experiment"])
def test_a_results_path_that_cannot_be_a_folder_is_refused_before_computing(tmp_path, tiny, where, command):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder", encoding="utf-8")
    results = blocker if where == "is-a-file" else blocker / "results"
    args = {
        "run": run_args(tiny, results),
        "compare": ["compare", str(BASELINE), str(ROOT / "scenarios" / "austerity.toml"), "--results", str(results)],
        "experiment": ["experiment", str(ROOT / "experiments" / "runs_per_second.toml"), "--results", str(results)],
    }[command]
    (line,) = assert_clean_failure(CliRunner().invoke(app, args), EXIT_BAD_INPUT)
    assert line.startswith(f"{results}: cannot write: "), line
    assert blocker.read_text(encoding="utf-8") == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "tiny.toml"]


def without_root_privilege() -> None:
    """Subprocess setup: drop root's power to write anywhere (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so that
    file permissions apply as they do to any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            os._exit(97)


def test_an_unwritable_results_folder_is_refused_before_computing(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    command = [sys.executable, "-m", "model.cli", *run_args(BASELINE, locked / "results")]
    setup = without_root_privilege if os.geteuid() == 0 else None
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, preexec_fn=setup, timeout=120)
    if done.returncode == 97:
        pytest.skip("root's privileges cannot be dropped here")
    assert done.returncode == EXIT_ENVIRONMENT, done.stderr
    assert done.stderr.strip() == f"{locked / 'results'}: cannot write: Permission denied"
    assert not list(locked.iterdir())


def test_a_full_disk_leaves_no_truncated_file(tmp_path, tiny, small):
    DistrictModel(small, 1).run()  # the compiled code is cached before the file size limit applies
    results = tmp_path / "results"
    limit = 8192  # bytes: the results of one replicate are larger

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "model.cli", *run_args(tiny, results)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, preexec_fn=limit_file_size, timeout=300)
    assert done.returncode == EXIT_ENVIRONMENT, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "cannot write" in line]  # the others: progress
    assert line.startswith(f"{results}/tiny-") and line.endswith(": cannot write: File too large"), line
    assert not list(results.rglob("*")), "a failed run leaves no file, whole or truncated"


def test_a_failed_write_leaves_nothing_and_an_existing_file_is_kept(tmp_path):
    def fail(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as caught:
        write_atomically(tmp_path / "out.csv", fail)
    assert caught.value.line == f"{tmp_path / 'out.csv'}: cannot write: No space left on device"
    assert caught.value.exit_code == EXIT_ENVIRONMENT
    assert not list(tmp_path.iterdir())
    write_text(tmp_path / "notes.html", "first", overwrite=False)
    with pytest.raises(OutputError, match="exists; results are never overwritten"):
        write_text(tmp_path / "notes.html", "second", overwrite=False)
    assert (tmp_path / "notes.html").read_text(encoding="utf-8") == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.html"]
