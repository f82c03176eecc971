"""Malformed scenario files: one clear line per problem (file, key path, value, what is allowed), exit code 2."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from model import ScenarioError, load_scenario
from model.cli import EXIT_BAD_INPUT, app
from model.scenario import _Param
from tests.conftest import assert_clean_failure

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
    return assert_clean_failure(runner.invoke(app, [str(a) for a in args]), EXIT_BAD_INPUT)


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
    "uncertainty-low-above-high": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "uniform", low = 0.05, high = 0.01, source = "test" } }\n',
        ("burden.reversion_per_month.uncertainty:", "low (0.05) must be below high (0.01)"),
    ),
    "uncertainty-value-outside-range": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "uniform", low = 0.05, high = 0.1, source = "test" } }\n',
        ("burden.reversion_per_month:", "value (0.03) must lie within uncertainty low..high (0.05..0.1)"),
    ),
    "uncertainty-triangular-without-peak": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "triangular", low = 0.01, high = 0.1, source = "test" } }\n',
        ("burden.reversion_per_month.uncertainty:", "triangular distribution needs peak"),
    ),
    "uncertainty-peak-outside-range": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "triangular", low = 0.01, high = 0.1, peak = 0.2, source = "test" } }\n',
        ("burden.reversion_per_month.uncertainty:", "peak (0.2) must lie within low..high (0.01..0.1)"),
    ),
    "uncertainty-unknown-distribution": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "normal", low = 0.01, high = 0.1, source = "test" } }\n',
        ("burden.reversion_per_month.uncertainty.distribution:", "'normal'", "'uniform' or 'triangular'"),
    ),
    "uncertainty-low-outside-the-numbers-bounds": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "uniform", low = -0.1, high = 0.1, source = "test" } }\n',
        ("burden.reversion_per_month.uncertainty.low:", "-0.1", "greater than or equal to 0"),
    ),
    "uncertainty-without-source": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "uniform", low = 0.01, high = 0.1 } }\n',
        ("burden.reversion_per_month.uncertainty.source:", "missing required key"),
    ),
    "uncertainty-of-change-without-change": (
        EXT + '[burden]\nreversion_per_month = { value = 0.03, source = "test", uncertainty = '
        '{ distribution = "uniform", low = 0.01, high = 0.1, of = "change", source = "test" } }\n',
        ("burden.reversion_per_month:", "of = 'change' needs by_year entries that change the value"),
    ),
    "uncertainty-draw-moves-a-later-value-out-of-bounds": (
        EXT + '[burden]\nreversion_per_month = { value = 0.5, by_year = { 2030 = 0.9 }, source = "test", '
        'uncertainty = { distribution = "uniform", low = 0.4, high = 0.8, source = "test" } }\n',
        ("burden.reversion_per_month:", "with a draw of 0.8 a by_year value leaves", "a probability in [0, 1]"),
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
for kind in ("Inhabitants", "Eur", "EurOrZero", "Months"):  # bounded above too: shown below zero here
    OUT_OF_RANGE[kind] = st.floats(-1e6, -1e-4)


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


# --- the corpus: scenario, experiment, command-line and file-system cases -------------------------------------------


def section(name: str) -> str:
    """The body of the baseline's table [name] (its keys, without the header)."""
    text = BASELINE.read_text(encoding="utf-8")
    body = text.split(f"[{name}]\n", 1)[1]
    return body.split("\n\n", 1)[0] + "\n"


def services(count: int) -> str:
    """[prevention.extra_N] tables: copies of Familienhebamme, for as many services as the baseline lacks."""
    present = len(load_scenario(BASELINE).prevention)
    body = section("prevention.familienhebamme")
    return "".join(f"[prevention.extra_{i}]\n{body}" for i in range(count - present))


def p(value: object) -> str:
    return f'{{ value = {value}, source = "test" }}'


@dataclass(frozen=True)
class Bad:
    """A bad input: files to write into the case folder (beside baseline.toml), the command, and what it must say.

    `lines`: the fragments of each expected line; every line starts with `{d}/<named>: ` (the file named in the
    message); with named="" a line just holds its fragments (command-line options name the option)."""

    files: dict[str, str]
    args: tuple[str, ...]
    lines: tuple[tuple[str, ...], ...]
    named: str = "child.toml"
    code: int = EXIT_BAD_INPUT


def scenario(text: str, *fragments: str, command: str = "validate") -> Bad:
    """A child of the baseline (child.toml) with `text`, checked by `command`."""
    args = {"validate": ("validate", "{d}/child.toml"), "run": run_args("{d}/child.toml")}[command]
    return Bad({"child.toml": EXT + text}, args, (fragments,))


def run_args(*files: str, command: str = "run") -> tuple[str, ...]:
    return (command, *files, "--replicates", "1", "--workers", "1", "--results", "{d}/results")


EXPERIMENT_TEXT = (
    'name = "exp"\ndescription = "test"\nscenarios = ["baseline.toml"]\nreplicates = 1\n'
    'outcomes = ["begun_heimerziehung_34"]\n[design]\nmethod = "latin"\nsamples = 4\n'
    '[[uncertainties]]\npath = "burden.reversion_per_month"\nlow = 0.05\nhigh = 0.1\nsource = "test"\n'
)


def experiment(change: tuple[str, str] | None, *fragments: str, append: str = "", command: str = "validate") -> Bad:
    """The small latin experiment (exp.toml) with one text replaced or appended, checked by `command`."""
    text = EXPERIMENT_TEXT.replace(*change) if change else EXPERIMENT_TEXT
    if change:
        assert text != EXPERIMENT_TEXT, change
    args = {
        "validate": ("validate", "{d}/exp.toml"),
        "experiment": ("experiment", "{d}/exp.toml", "--workers", "1", "--results", "{d}/results"),
    }[command]
    return Bad({"exp.toml": text + append}, args, (fragments,), named="exp.toml")


SOBOL_HUGE = ('method = "latin"\nsamples = 4', 'method = "sobol"\nsamples = 268435456')
TWO_UNCERTAINTIES = '[[uncertainties]]\npath = "burden.shock_mean_size_points"\nlow = 0.5\nhigh = 1\nsource = "test"\n'
SCENARIO_CORPUS = {
    "district-300-million": scenario(
        f"[district]\ninhabitants = {p(3e8)}\n",
        "district.inhabitants.value",
        "300000000.0",
        "less than or equal to 100000000",
    ),
    "district-1e15": scenario(
        f"[district]\ninhabitants = {p(1e15)}\n", "district.inhabitants.value", "less than or equal"
    ),
    "district-one-inhabitant": scenario(
        f"[district]\ninhabitants = {p(1)}\n", "district:", "0.169 children", "at least one family"
    ),
    "district-thousandth-inhabitant": scenario(
        f"[district]\ninhabitants = {p(0.001)}\n", "district:", "at least one family"
    ),
    "minors-above-under-21": scenario(
        f"[district]\nminors_share = {p(0.25)}\n",
        "district:",
        "minors_share (0.25) must not exceed under_21_share (0.1981)",
    ),
    "minors-above-under-21-later": scenario(
        '[district]\nminors_share = { value = 0.1, by_year = { 2030 = 0.3 }, source = "test" }\n',
        "district:",
        "minors_share from 2030 (0.3) must not exceed",
    ),
    "age-range-reversed": scenario(
        "[prevention.familienhebamme]\neligible_age_months = [12, 0]\n",
        "prevention.familienhebamme:",
        "[12, 0]",
        "the first age exceeds the last",
    ),
    "age-above-21": scenario(
        "[prevention.familienhebamme]\neligible_age_months = [0, 300]\n",
        "prevention.familienhebamme.eligible_age_months.1:",
        "300",
        "less than or equal to 252",
    ),
    "age-range-three-ages": scenario(
        "[prevention.familienhebamme]\neligible_age_months = [0, 6, 12]\n",
        "prevention.familienhebamme.eligible_age_months:",
        "at most 2",
    ),
    "by-year-far-future": scenario(
        '[policy]\ndiagnostics_first_share = { value = 0.1, by_year = { 20270 = 0.5 }, source = "test" }\n',
        "policy.diagnostics_first_share.by_year.20270: '20270':",
        "less than or equal to 2160",
    ),
    "by-year-1900": scenario(
        '[policy]\ndiagnostics_first_share = { value = 0.1, by_year = { 1900 = 0.5 }, source = "test" }\n',
        "policy.diagnostics_first_share.by_year.1900: '1900':",
        "greater than or equal to 1930",
    ),
    "daily-rate-1e308": scenario(
        f"[helps.heimerziehung_34]\ncost_per_day_eur = {p(1e308)}\n",
        "helps.heimerziehung_34.cost_per_day_eur.value",
        "1e+308",
        "less than or equal to 1000000000000",
    ),
    "monthly-cost-infinite": scenario(
        f"[prevention.elternschule]\ncost_per_month_eur = {p('inf')}\n",
        "prevention.elternschule.cost_per_month_eur.value",
        "inf",
        "finite number",
    ),
    "budget-1e13": scenario(
        f"[prevention.elternschule]\nbudget_eur_per_year = {p(1e13)}\n",
        "prevention.elternschule.budget_eur_per_year.value",
        "less than or equal to 1000000000000",
    ),
    "help-budget-negative": scenario(
        f"[helps.spfh_31]\nbudget_eur_per_year = {p(-1)}\n",
        "helps.spfh_31.budget_eur_per_year.value",
        "-1",
        "greater than or equal to 0",
    ),
    "duration-1e300-months": scenario(
        f"[helps.spfh_31]\nmean_duration_months = {p(1e300)}\n",
        "helps.spfh_31.mean_duration_months.value",
        "1e+300",
        "less than or equal to 240",
    ),
    "duration-zero": scenario(
        f"[helps.spfh_31]\nmean_duration_months = {p(0)}\n",
        "helps.spfh_31.mean_duration_months.value",
        "0",
        "greater than 0",
    ),
    "duration-of-service-1e300": scenario(
        f"[prevention.elternschule]\nmean_duration_months = {p(1e300)}\n",
        "prevention.elternschule.mean_duration_months.value",
        "less than or equal to 240",
    ),
    "arrival-shares-above-1": scenario(
        f"[unaccompanied_minors]\narrival_age_share_by_band = {p([0.5, 0.5, 0.5])}\n",
        "unaccompanied_minors.arrival_age_share_by_band.value: [0.5, 0.5, 0.5]:",
        "shares that sum to 1.5: they must sum to 1 (within 1e-06)",
    ),
    "arrival-shares-later-below-1": scenario(
        "[unaccompanied_minors]\narrival_age_share_by_band = "
        '{ value = [0.08, 0.24, 0.68], by_year = { 2030 = [0.1, 0.2, 0.3] }, source = "test" }\n',
        "unaccompanied_minors.arrival_age_share_by_band.by_year.2030: [0.1, 0.2, 0.3]:",
        "shares that sum to 0.6: they must sum to 1",
    ),
    "arrival-share-negative": scenario(
        f"[unaccompanied_minors]\narrival_age_share_by_band = {p([-0.1, 0.42, 0.68])}\n",
        "unaccompanied_minors.arrival_age_share_by_band.value.0: -0.1:",
        "greater than or equal to 0",
    ),
    "arrival-share-above-1": scenario(
        f"[unaccompanied_minors]\narrival_age_share_by_band = {p([1.5, 0.0, 0.0])}\n",
        "unaccompanied_minors.arrival_age_share_by_band.value.0: 1.5:",
        "less than or equal to 1",
    ),
    "arrival-shares-two": scenario(
        f"[unaccompanied_minors]\narrival_age_share_by_band = {p([0.32, 0.68])}\n",
        "unaccompanied_minors.arrival_age_share_by_band.value: [0.32, 0.68]:",
        "at least 3",
    ),
    "arrival-age-years-gone": scenario(
        f"[unaccompanied_minors]\narrival_age_years = {p(16)}\n",
        "unaccompanied_minors.arrival_age_years:",
        "unknown key; allowed here:",
        "arrival_age_share_by_band",
    ),
    "thirty-two-services": scenario(services(32), "prevention: (32 entries):", "at most 31 items"),
    "help-name-with-markup": scenario(
        '[helps."spfh_31[/]"]\n' + section("helps.spfh_31"), "helps.spfh_31[/]: 'spfh_31[/]':", "should match pattern"
    ),
    "help-name-with-space": scenario(
        '[helps."spfh 31"]\n' + section("helps.spfh_31"), "helps.spfh 31: 'spfh 31':", "should match pattern"
    ),
    "service-name-with-dot": scenario(
        '[prevention."eltern.schule"]\n' + section("prevention.elternschule"),
        "prevention.eltern.schule: 'eltern.schule':",
        "should match pattern",
    ),
    "scenario-name-300-characters": scenario(
        f'name = "{"x" * 300}"\n', "name: 'xxxx", "(300 characters):", "at most 64 characters"
    ),
    "scenario-name-with-slash": scenario('name = "a/b"\n', "name: 'a/b':", "should match pattern"),
    "target-level-5": scenario(
        "[prevention.elternschule]\ntarget_levels = [1, 5]\n",
        "prevention.elternschule.target_levels.1: 5:",
        "less than or equal to 4",
    ),
    "target-levels-empty": scenario(
        "[prevention.elternschule]\ntarget_levels = []\n",
        "prevention.elternschule.target_levels: []:",
        "at least 1 item",
    ),
    "help-level-7": scenario(
        "[helps.spfh_31]\nlevels = [7]\n", "helps.spfh_31.levels.0: 7:", "less than or equal to 4"
    ),
    "start-year-1800": scenario(
        "[simulation]\nstart_year = 1800\n", "simulation.start_year: 1800:", "greater than or equal to 1990"
    ),
    "horizon-zero": scenario(
        "[simulation]\nhorizon_years = 0\n", "simulation.horizon_years: 0:", "greater than or equal to 1"
    ),
    "burn-in-100": scenario(
        "[simulation]\nburn_in_years = 100\n", "simulation.burn_in_years: 100:", "less than or equal to 60"
    ),
    "start-year-fraction": scenario(
        "[simulation]\nstart_year = 2025.5\n", "simulation.start_year: 2025.5:", "valid integer"
    ),
    "title-language-fr": scenario('[title]\nfr = "x"\n', "title.fr: 'fr':", "'de' or 'en'"),
    "access-unknown": scenario(
        '[helps.spfh_31]\naccess = "walk_in"\n', "helps.spfh_31.access: 'walk_in':", "'self_referral'"
    ),
    "category-prevention-in-helps": scenario(
        '[helps.spfh_31]\ncategory = "prevention"\n', "helps.spfh_31:", "belong under [prevention]"
    ),
    "places-and-budget": scenario(
        f"[helps.heimerziehung_34]\nplaces = {p(10)}\nbudget_eur_per_year = {p(1000)}\n",
        "helps.heimerziehung_34:",
        "at most one of places or budget_eur_per_year",
    ),
    "second-crisis-help": scenario(
        '[helps.spfh_31]\naccess = "crisis"\n', "(top level):", "exactly one help needs access = 'crisis'"
    ),
    "residential-help-is-crisis": scenario(
        '[unaccompanied_minors]\nresidential_help = "inobhutnahme_42"\n',
        "unaccompanied_minors.residential_help",
        "'inobhutnahme_42'",
        "access = 'placement'",
    ),
    "value-is-a-table": scenario(
        '[burden]\nreversion_per_month = { value = { a = 1 }, source = "test" }\n',
        "burden.reversion_per_month.value: {'a': 1}:",
        "valid number",
    ),
    "vector-five-numbers": scenario(
        '[burden]\nage_hazard_ratio_by_band = { value = [1, 1, 1, 1, 1], source = "test" }\n',
        "burden.age_hazard_ratio_by_band.value:",
        "at most 4",
    ),
    "vector-with-text": scenario(
        '[burden]\nage_hazard_ratio_by_band = { value = [1, "a", 1, 1], source = "test" }\n',
        "burden.age_hazard_ratio_by_band.value.1: 'a':",
        "valid number",
    ),
    "by-year-nan": scenario(
        '[policy]\ndiagnostics_first_share = { value = 0.1, by_year = { 2030 = nan }, source = "test" }\n',
        "policy.diagnostics_first_share.by_year.2030: nan:",
        "finite number",
    ),
    "source-too-short": scenario(
        '[burden]\nreversion_per_month = { value = 0.1, source = "" }\n',
        "burden.reversion_per_month.source: '':",
        "at least 3 characters",
    ),
    "risk-factor-missing": Bad(
        {
            "child.toml": BASELINE.read_text(encoding="utf-8").replace(
                "young_parent = { value", "# young_parent = { value", 1
            )
        },
        ("validate", "{d}/child.toml"),
        (("district.risk_factors", "missing: young_parent"),),
    ),
    "name-is-a-table": scenario("name = { value = 1 }\n", "name: {'value': 1}:", "valid string"),
    "unknown-section": scenario(
        "[bureau]\nx = 1\n", "bureau: {'x': 1}:", "unknown key; allowed here: name, description"
    ),
    "duplicate-key": scenario("[burden]\nx = 1\nx = 2\n", "not valid TOML", "line 4"),
    "extends-empty-list": Bad(
        {"child.toml": "extends = []\n"}, ("validate", "{d}/child.toml"), (("extends: []", "must be a file name"),)
    ),
    "extends-up-to-etc-passwd": Bad(
        {"child.toml": 'extends = "../../../../../../../../etc/passwd"\n'},
        ("validate", "{d}/child.toml"),
        (("extends: '../../../../../../../../etc/passwd': outside the folders", "--allow-path"),),
    ),
    "extends-absolute-foreign": Bad(
        {"child.toml": 'extends = "/etc/hostname"\n'},
        ("validate", "{d}/child.toml"),
        (("extends: '/etc/hostname': outside the folders",),),
    ),
    "extends-in-list-foreign": Bad(
        {"child.toml": 'extends = ["baseline.toml", "/etc/hostname"]\n'},
        ("validate", "{d}/child.toml"),
        (("extends: '/etc/hostname': outside",),),
    ),
    "extends-inherited-foreign": Bad(
        {"parent.toml": 'extends = "/etc/hostname"\n', "child.toml": 'extends = "parent.toml"\n'},
        ("validate", "{d}/child.toml"),
        (("extends: '/etc/hostname': outside",),),
        named="parent.toml",
    ),
    "extends-a-folder": Bad(
        {"sub/keep.txt": "", "child.toml": 'extends = "sub"\n'},
        ("validate", "{d}/child.toml"),
        (("extends:", "/sub: not a file"),),
    ),
    "empty-file": Bad({"child.toml": ""}, ("validate", "{d}/child.toml"), (("empty: no keys",),)),
    "only-comments": Bad({"child.toml": "# nothing here\n"}, ("validate", "{d}/child.toml"), (("empty: no keys",),)),
    "byte-order-mark-then-typo": Bad(
        {"child.toml": "\ufeff" + EXT + 'nmae = "x"\n'}, ("validate", "{d}/child.toml"), (("nmae: 'x': unknown key",),)
    ),
    "extends-empty-file": Bad(
        {"empty.toml": "", "child.toml": 'extends = "empty.toml"\n'},
        ("validate", "{d}/child.toml"),
        (("extends:", "empty.toml: empty: no keys"),),
    ),
}
EXPERIMENT_CORPUS = {
    "typo-top-level-key": experiment(
        ("replicates = 1", "replicate = 1"),
        "replicate: 1: unknown key; allowed here: name, description, model, scenarios, replicates",
    ),
    "typo-in-design": experiment(
        ("samples = 4", "sample = 4"), "design.sample: 4: unknown key; allowed here: method, samples"
    ),
    "typo-in-uncertainty": Bad(  # two problems: the typo, and the key it should have been
        {"exp.toml": EXPERIMENT_TEXT.replace("high = 0.1", "hi = 0.1")},
        ("validate", "{d}/exp.toml"),
        (
            ("uncertainties.0.high: missing required key",),
            ("uncertainties.0.hi: 0.1: unknown key; allowed here: path",),
        ),
        named="exp.toml",
    ),
    "sobol-n-2-to-28": experiment(
        SOBOL_HUGE,
        "design.samples: 1,073,741,824 design points",
        "more than 1,000,000",
        "--allow-large",
        append=TWO_UNCERTAINTIES,
    ),
    "morris-ten-million-trajectories": experiment(
        ('method = "latin"\nsamples = 4', 'method = "morris"\ntrajectories = 10000000'),
        "design.trajectories: 30,000,000 design points",
        "--allow-large",
        append=TWO_UNCERTAINTIES,
    ),
    "latin-two-million": experiment(("samples = 4", "samples = 2000000"), "design.samples: 2,000,000 design points"),
    "same-uncertainty-twice": experiment(
        None,
        "uncertainties[1].path: 'burden.reversion_per_month': given twice (first as uncertainties[0])",
        append='[[uncertainties]]\npath = "burden.reversion_per_month"\nlow = 0.05\nhigh = 0.1\nsource = "test"\n',
    ),
    "scenario-path-escapes": experiment(
        ('["baseline.toml"]', '["../../../../../../../etc/passwd"]'),
        "scenarios[0]: '../../../../../../../etc/passwd': outside the folders",
    ),
    "scenario-path-absolute": experiment(
        ('["baseline.toml"]', '["/etc/hostname"]'), "scenarios[0]: '/etc/hostname': outside the folders"
    ),
    "three-scenarios": experiment(
        ('["baseline.toml"]', '["baseline.toml", "baseline.toml", "baseline.toml"]'),
        "scenarios:",
        "give one scenario, or two",
    ),
    "no-scenarios": experiment(('["baseline.toml"]', "[]"), "scenarios: []:", "give one scenario, or two"),
    "missing-scenario": experiment(
        ('["baseline.toml"]', '["nope.toml"]'), "scenarios[0]:", "nope.toml: file does not exist"
    ),
    "replicates-zero": experiment(("replicates = 1", "replicates = 0"), "replicates: 0:", "greater than or equal to 1"),
    "name-with-space": experiment(('name = "exp"', 'name = "my exp"'), "name: 'my exp':", "should match pattern"),
    "method-unknown": experiment(('method = "latin"', 'method = "bayes"'), "design.method: 'bayes':", "'grid'"),
    "outcomes-empty": experiment(
        ('outcomes = ["begun_heimerziehung_34"]', "outcomes = []"), "outcomes: []:", "at least 1 item"
    ),
    "outcome-unknown": experiment(
        ('"begun_heimerziehung_34"', '"begun_heim"'),
        "outcomes[0]: 'begun_heim': unknown outcome; closest: ",
        "begun_heimerziehung_34",
    ),
    "low-above-high": experiment(
        ("low = 0.05", "low = 0.5"), "uncertainties[0].high: 0.1: must be greater than low (0.5)"
    ),
    "triangular-without-peak": experiment(
        ("high = 0.1\n", 'high = 0.1\ndistribution = "triangular"\n'),
        "uncertainties[0].peak: None:",
        "low <= peak <= high",
    ),
    "sobol-not-power-of-2": experiment(
        (SOBOL_HUGE[0], 'method = "sobol"\nsamples = 100'),
        "design.samples: 100: Sobol needs a power of 2",
        append=TWO_UNCERTAINTIES,
    ),
    "fast-too-few-samples": experiment(
        ('method = "latin"', 'method = "fast"'),
        "design.samples: 4: eFAST needs more than 4 x harmonics^2",
        append=TWO_UNCERTAINTIES,
    ),
    "batch-zero": experiment(
        ("replicates = 1", "replicates = 1\npoints_per_batch = 0"), "points_per_batch: 0:", "greater than or equal to 1"
    ),
    "factor-breaks-consistency": experiment(
        ('burden.reversion_per_month"\nlow = 0.05\nhigh = 0.1', 'district.minors_share"\nlow = 0.1\nhigh = 0.3'),
        "uncertainties[0].path: 'district.minors_share' = 0.3:",
        "must not exceed under_21_share",
    ),
    "factor-not-a-number": experiment(
        ("burden.reversion_per_month", "district.name"),
        "uncertainties[0].path: 'district.name' = 0.05:",
        "not a number with a source",
    ),
    "empty-experiment-file": Bad(
        {"exp.toml": ""}, ("validate", "{d}/exp.toml"), (("empty: no keys",),), named="exp.toml"
    ),
    "experiment-given-a-scenario-file": Bad(
        {"child.toml": EXT + 'name = "c"\n'},
        ("experiment", "{d}/child.toml", "--results", "{d}/results"),
        (("a scenario file (it has extends), not an experiment: run prevsim run",),),
    ),
    "experiment-runs-nothing-when-huge": experiment(
        SOBOL_HUGE, "design.samples: 1,073,741,824 design points", append=TWO_UNCERTAINTIES, command="experiment"
    ),
}
CLI_CORPUS = {
    "run-an-experiment-file": Bad(
        {"exp.toml": EXPERIMENT_TEXT},
        run_args("{d}/exp.toml"),
        (("an experiment file (it has [design]), not a scenario: run prevsim experiment",),),
        named="exp.toml",
    ),
    "params-of-an-experiment-file": Bad(
        {"exp.toml": EXPERIMENT_TEXT}, ("params", "{d}/exp.toml"), (("an experiment file",),), named="exp.toml"
    ),
    "compare-an-experiment-file": Bad(
        {"exp.toml": EXPERIMENT_TEXT},
        run_args("{d}/baseline.toml", "{d}/exp.toml", command="compare"),
        (("an experiment file",),),
        named="exp.toml",
    ),
    "run-missing-file": Bad({}, run_args("{d}/nope.toml"), (("file does not exist",),), named="nope.toml"),
    "run-a-folder": Bad(
        {"sub/keep.txt": ""}, run_args("{d}/sub"), (("not a file (a scenario is a .toml file)",),), named="sub"
    ),
    "run-empty-file": Bad({"child.toml": ""}, run_args("{d}/child.toml"), (("empty: no keys",),)),
    "run-foreign-extends": Bad(
        {"child.toml": 'extends = "/etc/hostname"\n'},
        run_args("{d}/child.toml"),
        (("extends: '/etc/hostname': outside",),),
    ),
    "compare-one-scenario": Bad(
        {}, run_args("{d}/baseline.toml", command="compare"), (("compare needs at least two scenarios",),), named=""
    ),
    "compare-same-scenario-twice": Bad(
        {},
        run_args("{d}/baseline.toml", "{d}/baseline.toml", command="compare"),
        (("name: 'baseline': given twice",),),
        named="baseline.toml",
    ),
    "compare-other-district": Bad(
        {"child.toml": EXT + f'name = "c"\n[district]\ninhabitants = {p(50000)}\n'},
        run_args("{d}/baseline.toml", "{d}/child.toml", command="compare"),
        (("district.inhabitants:", "must equal the reference"),),
    ),
    "compare-other-start-year": Bad(
        {"child.toml": EXT + 'name = "c"\n[simulation]\nstart_year = 2030\n'},
        run_args("{d}/baseline.toml", "{d}/child.toml", command="compare"),
        (("simulation.start_year: 2030: must equal the reference",),),
    ),
    "experiment-malformed-cluster": Bad(
        {"exp.toml": EXPERIMENT_TEXT},
        ("experiment", "{d}/exp.toml", "--cluster", "not an address", "--results", "{d}/results"),
        (("--cluster: 'not an address': not a scheduler address",),),
        named="",
    ),
    "experiment-resume-nothing": Bad(
        {"exp.toml": EXPERIMENT_TEXT},
        ("experiment", "{d}/exp.toml", "--resume", "--results", "{d}/results"),
        (("--resume: no unfinished run of experiment 'exp'",),),
        named="exp.toml",
    ),
    "report-unknown-language": Bad(
        {}, ("report", "{d}", "--lang", "fr"), (("--lang: 'fr': allowed are de, en",),), named=""
    ),
    "report-not-a-results-folder": Bad(
        {}, ("report", "{d}"), (("no manifest.json: not a results folder of prevsim compare",),), named=""
    ),
    "bench-sizes-not-numbers": Bad(
        {},
        ("bench", "--sizes", "ten,20", "--scenario", "{d}/baseline.toml"),
        (("--sizes: 'ten,20': give whole numbers",),),
        named="",
    ),
    "validate-huge-design": experiment(
        SOBOL_HUGE, "design.samples: 1,073,741,824 design points", append=TWO_UNCERTAINTIES
    ),
}
FILESYSTEM_CORPUS = (
    {
        f"{command}-results-{where}": Bad(
            {"blocker": "a file"},
            (*run_args(*files, command=command)[:-1], "{d}/blocker" + suffix),
            ((f"blocker{suffix}: cannot write:",),),
            named="",
        )
        for command, files in (("run", ("{d}/baseline.toml",)), ("compare", ("{d}/baseline.toml", "{d}/osterode.toml")))
        for where, suffix in (("is-a-file", ""), ("below-a-file", "/results"))
    }
    | {
        f"experiment-results-{where}": Bad(
            {"blocker": "a file", "exp.toml": EXPERIMENT_TEXT},
            ("experiment", "{d}/exp.toml", "--workers", "1", "--results", "{d}/blocker" + suffix),
            ((f"blocker{suffix}: cannot write:",),),
            named="",
        )
        for where, suffix in (("is-a-file", ""), ("below-a-file", "/results"))
    }
    | {
        "results-name-too-long": Bad(
            {},
            (*run_args("{d}/baseline.toml")[:-1], "{d}/" + "r" * 300),
            (("cannot write: File name too long",),),
            named="",
        ),
        "extends-symlink-out-of-the-tree": Bad(
            {"child.toml": 'extends = "link.toml"\n', "link.toml": "->/etc/hostname"},
            ("validate", "{d}/child.toml"),
            (("extends: 'link.toml': outside the folders",),),
        ),
        "scenario-symlink-out-of-the-tree": Bad(
            {"exp.toml": EXPERIMENT_TEXT.replace('["baseline.toml"]', '["link.toml"]'), "link.toml": "->/etc/hostname"},
            ("validate", "{d}/exp.toml"),
            (("scenarios[0]: 'link.toml': outside the folders",),),
            named="exp.toml",
        ),
        "extends-not-utf8": Bad(
            {"parent.toml": "name = '\udce4'\n", "child.toml": 'extends = "parent.toml"\n'},
            ("validate", "{d}/child.toml"),
            (("not valid TOML", "utf-8"),),
            named="parent.toml",
        ),
    }
)
CORPUS = {
    **{f"scenario-{k}": v for k, v in SCENARIO_CORPUS.items()},
    **{f"experiment-{k}": v for k, v in EXPERIMENT_CORPUS.items()},
    **{f"cli-{k}": v for k, v in CLI_CORPUS.items()},
    **{f"filesystem-{k}": v for k, v in FILESYSTEM_CORPUS.items()},
}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"" for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", CORPUS.values(), ids=CORPUS.keys())
def test_corpus_of_bad_inputs(folder, case):
    """Exit code, one line per problem naming the file and key, no traceback, nothing written."""
    shutil.copy(ROOT / "scenarios" / "osterode_prevention.toml", folder / "osterode.toml")
    for name, text in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text.startswith("->"):
            path.symlink_to(text[2:])
        else:
            path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    before = snapshot(folder)
    result = runner.invoke(app, [arg.replace("{d}", str(folder)) for arg in case.args])
    lines = assert_clean_failure(result, case.code)
    assert len(lines) == len(case.lines), "\n".join(lines)
    for line, fragments in zip(lines, case.lines, strict=True):
        if case.named:
            assert line.startswith(f"{folder / case.named}: "), line
        assert all(f in line for f in fragments), f"{fragments} not in: {line}"
        assert len(line.replace(str(folder), "")) < 400, line  # the temporary folder's length is not the message's
    assert snapshot(folder) == before, "a bad input wrote something"


# --- district files (prevsim calibrate): one line per problem naming file, key or sheet and cell; nothing written

DISTRICT = """name = "d"
description = "a district"
district_name = "Landkreis Test"
extends = "../baseline.toml"
[population]
inhabitants = { value = 50000, year = 2023, source = "test" }
under_21 = { value = 9900, year = 2023, source = "test" }
[cases]
heimerziehung_34 = [{ value = 60, year = 2022, source = "test" }, { value = 62, year = 2023, source = "test" }]
[begun]
heimerziehung_34 = [{ value = 20, year = 2022, source = "test" }, { value = 21, year = 2023, source = "test" }]
"""
DISTRICT_CASES = {  # id: (replaced, replacement, fragments of the one problem line)
    "begun-above-cases": (
        "value = 21, year = 2023",
        "value = 70, year = 2023",
        ("begun.heimerziehung_34[1]:", "70 in 2023 exceeds cases.heimerziehung_34 = 62"),
    ),
    "share-above-1": (
        "value = 9900",
        "value = 59900",
        ("population.under_21[0]:", "exceeds population.inhabitants", "share above 1"),
    ),
    "year-out-of-range": (
        "value = 60, year = 2022",
        "value = 60, year = 1999",
        ("cases.heimerziehung_34.0.year: 1999:", "allowed 2007-"),
    ),
    "ambiguous-text-number": (
        "value = 60,",
        'value = "1.234",',
        ("cases.heimerziehung_34.0.value:", "'1.234': not a number", "decimal comma"),
    ),
    "unknown-statistic": (
        "[begun]\nheimerziehung_34",
        "[begun]\nheimerziehung_43",
        ("begun.heimerziehung_43:", "heimerziehung_34"),
    ),
}


def district_file(folder: Path, text: str) -> Path:
    (folder / "districts").mkdir(exist_ok=True)
    return write(folder / "districts", text, "d.toml")


@pytest.mark.parametrize(("old", "new", "fragments"), DISTRICT_CASES.values(), ids=DISTRICT_CASES)
def test_each_bad_district_figure_gives_one_line_and_writes_nothing(folder, old, new, fragments, monkeypatch):
    monkeypatch.chdir(folder)
    assert old in DISTRICT
    path = district_file(folder, DISTRICT.replace(old, new))
    lines = rejected("calibrate", path, "--out", folder / "out", "--max-trials", 1)
    assert_lines(lines, path, fragments)
    assert not (folder / "out").exists() or not any((folder / "out").iterdir())


def test_a_german_decimal_comma_is_read_by_its_rule(folder):
    from model.district import german_number, load_district

    path = district_file(folder, DISTRICT.replace("value = 9900", 'value = "9.900,0"'))
    assert load_district(path).population.under_21[0].value == 9900
    assert german_number("1.234,5") == 1234.5 and german_number("1234") == 1234
    for text in ("1.234", "12.5", "1,2,3", "12.34,5", "zwölf"):
        with pytest.raises(ValueError, match="decimal comma"):
            german_number(text)


def workbook(folder: Path, change) -> Path:
    """The template filled with the district above, then changed by `change(sheets)` (a dict of DataFrames)."""
    import pandas as pd

    from model.district import write_template

    template = write_template(folder / "template.xlsx")
    sheets = pd.read_excel(template, sheet_name=None, dtype=object)
    about, figures = sheets["district"], sheets["figures"]
    about["value"] = ["d", "a district", "Landkreis Test", "../baseline.toml"]
    filled = {
        "population.inhabitants": (2023, 50000),
        "population.under_21": (2023, 9900),
        "cases.spfh_31": (2023, 150),
    }
    for key, (year, value) in filled.items():
        row = figures.index[figures["figure"] == key][0]
        figures.loc[row, ["year", "value", "source"]] = [year, value, "test"]
    change(sheets)
    (folder / "districts").mkdir(exist_ok=True)
    path = folder / "districts" / "d.xlsx"
    with pd.ExcelWriter(path) as book:
        for name, frame in sheets.items():
            frame.to_excel(book, sheet_name=name, index=False)
    return path


def _set(key: str, column: str, value: object):
    def change(sheets) -> None:
        figures = sheets["figures"]
        figures.loc[figures.index[figures["figure"] == key][0], column] = value

    return change


WORKBOOK_CASES = {  # id: (change, fragments of the one problem line)
    "missing-sheet": (lambda sheets: sheets.pop("figures"), ("sheet 'figures' is missing",)),
    "missing-column": (lambda sheets: sheets["figures"].pop("year"), ("sheet 'figures': column 'year' is missing",)),
    "text-number-without-comma": (
        _set("cases.spfh_31", "value", "1.50"),
        ("sheet 'figures', cell C", "'1.50': not a number"),
    ),
    "year-out-of-range": (_set("cases.spfh_31", "year", 2099), ("sheet 'figures', cell B", "2099: allowed")),
    "unknown-figure": (
        _set("cases.spfh_31", "figure", "cases.spfh_13"),
        ("sheet 'figures', cell A", "'cases.spfh_13': unknown figure"),
    ),
}


@pytest.mark.parametrize(("change", "fragments"), WORKBOOK_CASES.values(), ids=WORKBOOK_CASES)
def test_each_bad_workbook_gives_one_line_naming_the_cell(folder, change, fragments, monkeypatch):
    monkeypatch.chdir(folder)
    path = workbook(folder, change)
    lines = rejected("calibrate", path, "--out", folder / "out", "--max-trials", 1)
    assert_lines(lines, path, fragments)
    assert not (folder / "out").exists() or not any((folder / "out").iterdir())


def test_a_filled_workbook_reads_like_the_toml_file(folder):
    from model.district import load_district

    path = workbook(folder, _set("cases.spfh_31", "value", "150,0"))  # a German decimal comma in a text cell
    district = load_district(path)
    assert district.cases["spfh_31"][0].value == 150 and district.population.inhabitants[0].year == 2023
