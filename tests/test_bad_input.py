"""Malformed scenario files: one clear line per problem (file, key path, value, what is allowed), exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from model import ScenarioError, load_scenario
from model.cli import EXIT_BAD_INPUT, app
from model.scenario import _Param

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
EXT = 'extends = "baseline.toml"\n'
FH = EXT + "[prevention.familienhebamme]\n"
runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding a copy of the baseline, so that children can say `extends = "baseline.toml"`."""
    shutil.copy(BASELINE, tmp_path / "baseline.toml")
    return tmp_path


def write(folder: Path, text: str, name: str = "child.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def rejected(*args: object) -> list[str]:
    """Invoke the CLI, check it failed cleanly with exit code 2, return the non-empty output lines."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return [line for line in result.output.splitlines() if line.strip()]


def assert_lines(lines: list[str], file: Path, *expected: tuple[str, ...]) -> None:
    """Exactly one line per expected problem; each line starts with the file and holds all its fragments."""
    assert len(lines) == len(expected), "\n".join(lines)
    for line in lines:
        assert line.startswith(f"{file.resolve()}: "), line
        assert len(line) < 400, f"a problem line should be short, not a dump: {line[:200]}..."
    for fragments in expected:
        assert any(all(f in line for f in fragments) for line in lines), f"{fragments} not in:\n" + "\n".join(lines)


CASES = {  # id: (file text, fragments of the one problem line: key path, value, what is allowed)
    "unknown-top-level-key": (EXT + 'nmae = "x"\n', ("nmae:", "'x'", "unknown key", "allowed here: name, description")),
    "typo-in-nested-key": (
        EXT + '[burden]\nreversion_per_mnth = { value = 0.1, source = "test" }\n',
        ("burden.reversion_per_mnth:", "0.1", "unknown key", "allowed here:", "reversion_per_month"),
    ),
    "unknown-key-in-number-table": (
        EXT + '[burden]\nreversion_per_month = { value = 0.1, source = "test", unit = "x" }\n',
        ("burden.reversion_per_month.unit:", "'x'", "allowed here: value, source, by_year"),
    ),
    "string-for-number": (
        EXT + '[burden]\nreversion_per_month = { value = "high", source = "test" }\n',
        ("burden.reversion_per_month.value:", "'high'", "valid number"),
    ),
    "bare-number-without-source": (
        EXT + "[burden]\nreversion_per_month = 0.1\n",
        ("burden.reversion_per_month:", "0.1", "must be a number with its source: { value = 0.1, source = "),
    ),
    "probability-above-1": (
        EXT + '[burden]\nreversion_per_month = { value = 1.5, source = "test" }\n',
        ("burden.reversion_per_month.value:", "1.5", "less than or equal to 1"),
    ),
    "probability-below-0": (
        EXT + '[policy]\ncontinue_after_18_probability = { value = -0.1, source = "test" }\n',
        ("policy.continue_after_18_probability.value:", "-0.1", "greater than or equal to 0"),
    ),
    "not-finite": (
        EXT + '[burden]\nreversion_per_month = { value = nan, source = "test" }\n',
        ("burden.reversion_per_month.value:", "nan", "finite number"),
    ),
    "negative-budget-eur": (
        FH + 'budget_eur_per_year = { value = -5, source = "test" }\n',
        ("prevention.familienhebamme.budget_eur_per_year.value:", "-5", "greater than or equal to 0"),
    ),
    "negative-cost-per-day-eur": (
        EXT + '[helps.heimerziehung_34]\ncost_per_day_eur = { value = -273.25, source = "test" }\n',
        ("helps.heimerziehung_34.cost_per_day_eur.value:", "-273.25", "greater than 0"),
    ),
    "missing-source": (
        EXT + "[burden]\nreversion_per_month = { value = 0.1 }\n",
        ("burden.reversion_per_month.source:", "missing required key"),
    ),
    "by-year-bad-year": (
        FH + 'budget_eur_per_year = { value = 5, by_year = { next = 7 }, source = "test" }\n',
        ("prevention.familienhebamme.budget_eur_per_year.by_year.next: 'next':", "valid integer"),
    ),
    "by-year-bad-value": (
        FH + 'budget_eur_per_year = { value = 5, by_year = { 2027 = -7 }, source = "test" }\n',
        ("prevention.familienhebamme.budget_eur_per_year.by_year.2027:", "-7", "greater than or equal to 0"),
    ),
    "vector-too-short": (
        EXT + '[burden]\nage_hazard_ratio_by_band = { value = [1, 2, 3], source = "test" }\n',
        ("burden.age_hazard_ratio_by_band.value:", "[1, 2, 3]", "at least 4"),
    ),
    "unknown-risk-factor": (
        EXT + '[district.risk_factors.shock_hazard_ratio]\npoverty = { value = 2, source = "test" }\n',
        ("district.risk_factors.shock_hazard_ratio.poverty: 'poverty':", "'sgb2_poverty'"),
    ),
    "check-across-keys": (  # the value is named in the message, not the whole table dumped
        EXT + '[unaccompanied_minors]\nresidential_help = "nope"\n',
        ("unaccompanied_minors.residential_help", "'nope'", "access = 'placement'", "heimerziehung_34"),
    ),
    "two-costs-for-one-help": (
        EXT + '[helps.spfh_31]\ncost_per_day_eur = { value = 50, source = "test" }\n',
        ("helps.spfh_31:", "exactly one of cost_per_month_eur or cost_per_day_eur"),
    ),
    "extends-target-does-not-exist": ('extends = "nope.toml"\n', ("extends:", "nope.toml", "file does not exist")),
    "extends-not-a-string": ("extends = 3\n", ("extends:", "3", "must be a file name")),
    "invalid-toml": (EXT + "[burden\nx = 1\n", ("not valid TOML", "line 2")),
    "not-utf8": (EXT + 'name = "\udce4"\n', ("not valid TOML", "utf-8")),
}


@pytest.mark.parametrize("text, fragments", CASES.values(), ids=CASES.keys())
def test_each_kind_of_problem_gives_one_clear_line(folder, text, fragments):
    path = folder / "child.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    assert_lines(rejected("validate", path), path, fragments)


def test_several_problems_give_one_line_each(folder):
    path = write(
        folder,
        EXT + 'nmae = "x"\n[burden]\nreversion_per_month = { value = 1.5, source = "test" }\n'
        '[policy]\ncontinue_after_18_probability = { value = "often", source = "test" }\n'
        '[prevention.elternschule]\ncost_per_month_eur = { value = -80, source = "test" }\n',
    )
    expected = [
        ("nmae:", "'x'", "unknown key"),
        ("burden.reversion_per_month.value:", "1.5", "less than or equal to 1"),
        ("policy.continue_after_18_probability.value:", "'often'", "valid number"),
        ("prevention.elternschule.cost_per_month_eur.value:", "-80", "greater than 0"),
    ]
    assert_lines(rejected("validate", path), path, *expected)
    with pytest.raises(ScenarioError) as caught:  # the same through the Python API
        load_scenario(path)
    assert len(caught.value.problems) == len(expected)
    assert str(caught.value) == "\n".join(caught.value.problems)


def test_file_without_extends_lacking_sections_names_each_missing_section(folder):
    path = write(folder, 'name = "bare"\ndescription = "no sections"\n[simulation]\nstart_year = 2025\n')
    sections = ["district", "burden", "detection", "youth_office", "policy", "unaccompanied_minors", "prevention"]
    expected = [("simulation.burn_in_years:", "missing required key")]
    expected += [(f": {s}: missing required key",) for s in [*sections, "helps"]]
    assert_lines(rejected("validate", path), path, *expected)


def test_problem_in_an_inherited_file_names_that_file(folder):
    parent = write(folder, EXT + '[burden]\nfrailty_sd_log = { value = -1, source = "test" }\n', "parent.toml")
    child = write(folder, 'extends = "parent.toml"\nname = "child"\n')
    assert_lines(rejected("validate", child), parent, ("burden.frailty_sd_log.value:", "-1", "greater than or equal"))


def test_cycle_of_extends_is_named(folder):
    first = write(folder, 'extends = "b.toml"\nname = "a"\n', "a.toml")
    second = write(folder, 'extends = "a.toml"\nname = "b"\n', "b.toml")
    assert_lines(rejected("validate", first), second, ("extends:", "'a.toml'", "cycle", "a.toml -> b.toml -> a.toml"))
    itself = write(folder, 'extends = "self.toml"\n', "self.toml")
    assert_lines(rejected("validate", itself), itself, ("cycle", "self.toml -> self.toml"))


@pytest.mark.parametrize("command", [["validate"], ["params"], ["run", "--replicates", "1", "--workers", "1"]])
def test_scenario_file_that_does_not_exist(tmp_path, command):
    missing = tmp_path / "missing.toml"
    lines = rejected(*command, missing)
    assert lines == [f"{missing.resolve()}: file does not exist"]


def test_a_folder_is_not_a_scenario(tmp_path):
    assert rejected("validate", tmp_path) == [f"{tmp_path.resolve()}: not a file (a scenario is a .toml file)"]


def test_run_on_a_bad_file_exits_2_before_running(folder):
    path = write(folder, EXT + '[burden]\nreversion_per_month = { value = 1.5, source = "test" }\n')
    out = folder / "results"
    lines = rejected("run", path, "--replicates", "1", "--workers", "1", "--results", out)
    assert_lines(lines, path, ("burden.reversion_per_month.value:", "1.5", "less than or equal to 1"))
    assert not out.exists(), "nothing may be written for a bad scenario"


@pytest.mark.parametrize("option", ["--replicates", "--workers"])
def test_run_with_zero_replicates_or_workers_exits_2(tmp_path, option):
    lines = rejected("run", BASELINE, option, "0", "--results", tmp_path / "results")
    text = "\n".join(lines)
    assert f"Invalid value for '{option}'" in text and "greater than or equal to 1" in text
    assert not (tmp_path / "results").exists()


def test_validate_does_not_run(folder):
    result = runner.invoke(app, ["validate", str(folder / "baseline.toml")])
    assert result.exit_code == 0 and "ok:" in result.output
    assert list(folder.iterdir()) == [folder / "baseline.toml"], "validate must not write anything"


BOUNDED = [  # (key path, kind) of every single sourced number of the baseline
    (path, type(p).__name__) for path, p in load_scenario(BASELINE).parameters() if isinstance(p, _Param)
]
OUT_OF_RANGE = {
    "Probability": st.floats(1.0001, 1e6) | st.floats(-1e6, -1e-4),
    "NonNegative": st.floats(-1e6, -1e-4),
    "Positive": st.floats(-1e6, 0.0),
    "HazardRatio": st.floats(-1e6, 0.0),  # > 0, like Positive
}


@st.composite
def corrupted_number(draw: st.DrawFn) -> tuple[str, float]:
    path, kind = draw(st.sampled_from(BOUNDED))
    return path, draw(OUT_OF_RANGE[kind])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corrupted=corrupted_number())
def test_any_single_out_of_range_number_is_named(folder, corrupted):
    path, bad = corrupted
    section, key = path.rsplit(".", 1)
    child = write(folder, f'{EXT}[{section}]\n{key} = {{ value = {bad!r}, source = "test" }}\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(child)
    assert len(caught.value.problems) == 1
    assert f"{child.resolve()}: {path}.value: {bad!r}: Input should be greater than" in caught.value.problems[0] or (
        f"{child.resolve()}: {path}.value: {bad!r}: Input should be less than or equal to 1" in caught.value.problems[0]
    )
