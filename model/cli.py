"""Command line: `prevsim run`, `compare`, `report`, `experiment`, `validate`, `params`, `bench`, `cluster`.

The model, numba and pandas are imported inside the commands, so that `--help` and `--version` answer at once.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from typer.core import TyperArgument, TyperCommand, TyperGroup

from model.output import EXIT_ENVIRONMENT, OutputError, writable_folder, write_atomically, write_text

if TYPE_CHECKING:
    from rich.progress import Progress

    from model.attribution import Attribution
    from model.comparison import Comparison
    from model.district_fit import Fit
    from model.ensemble import Ensemble
    from model.run import SimulationResult
    from model.scenario import Scenario


# What a value of each type is called in --help (typer would show `<int range>`, `<path>`).
_METAVARS = {"int": "N", "int range": "N", "path": "PATH", "str": "TEXT", "float": "X", "float range": "X"}


class _PlainParams:
    """Help that names values as a reader expects (`--seed N`, `SCENARIOS...`), not by typer's Python types
    (`--help <bool>`, `<list[Path]>`, `{scenarios}...`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if isinstance(param, TyperArgument):
                if param.metavar is None:
                    param.metavar = param.name.upper() + ("..." if param.nargs != 1 else "")
                param.display_type_rich = lambda ctx: None  # the name says it all; no second type column
                param.get_usage_pieces = lambda ctx, usage=param.metavar: [usage]
            elif param.metavar is None:
                kind = param.display_type(ctx).strip("<>")
                param.metavar = "" if param.is_flag else _METAVARS.get(kind, kind.upper())
        return params


class _PlainCommand(_PlainParams, TyperCommand):
    pass


class _PlainGroup(_PlainParams, TyperGroup):
    pass


app = typer.Typer(cls=_PlainGroup, add_completion=False, no_args_is_help=True)  # help: main's docstring
# Piped into a file (no terminal, no COLUMNS), tables get a wide page instead of rich's 80 columns.
WIDTH_WHEN_PIPED = 200
out = Console(width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else WIDTH_WHEN_PIPED)
err = Console(stderr=True, highlight=False)
command = app.command(cls=_PlainCommand)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"prevsim {version('prevsim')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", help="show the version and exit", is_eager=True, callback=_show_version)
    ] = False,
) -> None:
    """prevsim: prevention, youth services and placements."""


EXIT_BAD_INPUT = 2  # a file or option given is wrong (model.output: also a results path that cannot be a folder)
EXIT_INTERRUPTED = 130  # as a shell reports a process ended by SIGINT (128 + 2)
LOOPBACK = "127.0.0.1"  # servers this program starts listen here only
REFERENCE_MAX_FAMILIES = 10_000  # bench: the reference model (a Mesa agent per family) takes hours above this
ResultsFolder = Annotated[Path, typer.Option(metavar="FOLDER", help="folder under which the results folder is made")]
T = TypeVar("T")


def _checked(check: Callable[..., T], *args: Any) -> T:
    """check(*args), or on bad input one unwrapped line per problem on stderr and exit code 2; a results path
    that cannot be written: one line and exit code 2 (a path that cannot be a folder) or 1 (the machine refused)."""
    from model.scenario import ScenarioError

    try:
        return check(*args)
    except ScenarioError as problem:
        for line in problem.problems:
            typer.echo(line, err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OutputError as failure:
        typer.echo(failure.line, err=True)
        raise typer.Exit(failure.exit_code) from None


def _exit_now(_signum: int, _frame: object) -> None:
    os._exit(EXIT_INTERRUPTED)


def _first_interrupt(_signum: int, _frame: object) -> None:
    """Ctrl-C: stop what runs (KeyboardInterrupt); a second one while that is cleaned up exits at once."""
    signal.signal(signal.SIGINT, _exit_now)
    raise KeyboardInterrupt


@contextmanager
def _interruptible(kept: Callable[[], str]) -> Iterator[None]:
    """On Ctrl-C: workers are stopped (model.workers), then one line `interrupted: <kept()>` and exit code 130.

    The process ends at once after that line: finished work is on disk, and tearing down the interpreter with
    its compiled code would take about another second."""
    previous = signal.signal(signal.SIGINT, _first_interrupt)
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted: {kept()}", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    signal.signal(signal.SIGINT, previous)


@contextmanager
def _new_folder(results: Path, name: str) -> Iterator[Path]:
    """A new results folder, made (and probed) before computing; removed again if anything stops the command."""
    from model.run import new_results_folder

    folder = _checked(new_results_folder, _checked(writable_folder, results), name)
    try:
        yield folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


AllowPath = Annotated[
    list[Path] | None,
    typer.Option(
        "--allow-path",
        metavar="FOLDER",
        help="a further folder whose files `extends` and an experiment's `scenarios` may name (besides the folder "
        "of the file naming them and the current folder, with subfolders); repeatable",
    ),
]
Microdata = Annotated[
    bool,
    typer.Option(
        help="also write helps, census, assessments and population.parquet: one row per help begun or ended, "
        "young person in help on 31 Dec, and §8a assessment, as the statistics' single records, and the young "
        "people of each age on 31 Dec (docs/ODD.md)"
    ),
]
AllowLarge = Annotated[
    bool,
    typer.Option(help="run a district or draw a design larger than the memory or size limits allow (see README)"),
]


def _load(path: Path, allowed: list[Path] | None = None) -> Scenario:
    from model.scenario import load_scenario

    return _checked(load_scenario, path, allowed or [])


@command
def validate(
    file: Annotated[Path, typer.Argument(help="scenario or experiment file (TOML)")],
    allow_path: AllowPath = None,
    allow_large: AllowLarge = False,
) -> None:
    """Check a scenario or an experiment file without running it."""
    from model.experiment import is_experiment, load_experiment
    from model.scenario import read_toml

    if is_experiment(_checked(read_toml, file.resolve())):
        exp = _checked(load_experiment, file, allow_path or [], allow_large)
        runs = len(exp.design) * exp.spec.replicates * exp.model_runs_per_replicate
        out.print(
            f"ok: {escape(str(file))} (experiment {exp.spec.name!r}, {exp.spec.design.method} design, "
            f"{len(exp.design):,} design points, {runs:,} model runs, hash {exp.content_hash[:12]})"
        )
        return
    s = _load(file, allow_path)
    numbers = len(s.parameters())
    out.print(f"ok: {escape(str(file))} (scenario {s.name!r}, {numbers} sourced numbers, hash {s.content_hash[:12]})")


@command
def params(
    scenario: Annotated[Path, typer.Argument(help="scenario file (TOML)")],
    markdown: Annotated[bool, typer.Option(help="print a Markdown table (for docs/ODD.md)")] = False,
    allow_path: AllowPath = None,
) -> None:
    """List every number of a scenario with its unit and source."""
    rows = parameter_rows(_load(scenario, allow_path))
    if markdown:
        print(markdown_table(rows))
        return
    table = Table(title=f"Parameters of {scenario}", title_justify="left", show_lines=False)
    table.add_column("parameter", no_wrap=True, overflow="fold")  # a key path whole on one line, so grep finds it
    for column in ("unit", "value", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def parameter_rows(s: Scenario) -> list[tuple[str, str, str, str]]:
    """(key path, unit, value, source) for every sourced number; `by_year` changes are shown after the value."""
    from model.scenario import unit_of

    rows = []
    for key, p in s.parameters():
        value = ", ".join(f"{v:g}" for v in p.value) if isinstance(p.value, list) else f"{p.value:g}"
        changes = getattr(p, "by_year", {})
        if changes:
            value += " (" + ", ".join(f"from {year}: {v:g}" for year, v in sorted(changes.items())) + ")"
        rows.append((key, unit_of(key) or "?", value, p.source))
    return rows


def markdown_table(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| parameter | unit | value | source |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {unit} | {value} | {source.replace('|', '/')} |" for key, unit, value, source in rows]
    return "\n".join(lines)


@command
def run(
    scenario: Annotated[Path, typer.Argument(help="scenario file (TOML)")],
    replicates: Annotated[int, typer.Option(min=1, help="number of replicates")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="seed of the replicate seeds")] = 1,
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes (default: all cores)")] = None,
    results: ResultsFolder = Path("results"),
    allow_large: AllowLarge = False,
    allow_path: AllowPath = None,
    microdata: Microdata = False,
) -> None:
    """Run a scenario: progress, a summary table, and results/<scenario>-<timestamp>/."""
    from model.run import check_memory, simulate

    s = _load(scenario, allow_path)
    if not allow_large:
        _checked(check_memory, [s], [str(scenario)], workers)
    progress = _progress()
    task = progress.add_task(f"{s.name}: replicates", total=replicates)
    with _interruptible(_written_whole(progress, "a run")), _new_folder(results, s.name) as folder:
        with progress:
            result = simulate(
                s, replicates=replicates, seed=seed, workers=workers, on_done=lambda _: progress.advance(task)
            )
        print_summary(result)
        _checked(result.write_into, folder, microdata)
    files = "timeseries.parquet, summary.csv, " + ("helps/census/assessments/population.parquet, " if microdata else "")
    out.print(
        f"\nwrote {escape(str(folder))}/ ({files}manifest.json) in {result.wall_time_s:.1f} s",
        soft_wrap=True,  # a path is never broken
    )


def _written_whole(progress: Progress, what: str) -> Callable[[], str]:
    """What an interrupted run or comparison kept: nothing, as it is written whole."""
    task = progress.tasks[0]
    return lambda: f"nothing written ({task.completed:.0f} of {task.total:.0f} runs done; {what} is written whole)"


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, TimeRemainingColumn(), console=err, transient=False)


@command
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="scenario files; the first is the reference")],
    replicates: Annotated[int, typer.Option(min=1, help="replicates per scenario (the same seeds for all)")] = 50,
    seed: Annotated[int, typer.Option(min=0, help="seed of the replicate seeds")] = 1,
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes (default: all cores)")] = None,
    results: ResultsFolder = Path("results"),
    briefing: Annotated[
        bool, typer.Option(help="then write the committee briefing in German (as `prevsim report FOLDER`)")
    ] = False,
    allow_large: AllowLarge = False,
    allow_path: AllowPath = None,
    microdata: Microdata = False,
    uncertainty: Annotated[
        bool | None,
        typer.Option(
            "--uncertainty/--no-uncertainty",
            help="draw the numbers that carry a range once per replicate, the same draw for every scenario, so that "
            "intervals and chances include the uncertainty of effects and costs (default: on with --briefing)",
        ),
    ] = None,
    attribution: Annotated[
        bool,
        typer.Option(
            help="also attribute each alternative's result to its lever groups (Shapley values, exact per replicate; "
            "2^k - 2 extra runs per replicate for k groups): attribution.csv"
        ),
    ] = False,
    programme: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE",
            help="a programme (a scenario that extends another) applied to the reference: its changes to its own "
            "parent on top of the reference's district (docs/districts.md); repeatable",
        ),
    ] = None,
) -> None:
    """Compare scenarios against the first with common random numbers: placements, cost, payoff."""
    from model.comparison import check_comparable, folder_name
    from model.comparison import compare as run_comparison
    from model.run import check_memory
    from model.scenario import programme_on, programme_overrides

    loaded = [_load(path, allow_path) for path in scenarios]
    loaded += [_checked(programme_on, scenarios[0], path, allow_path or []) for path in programme or []]
    for path in programme or []:  # where the programme moves a number the district sets: say how
        for key in programme_overrides(scenarios[0], path, allow_path or []):
            err.print(
                f"[yellow]warning:[/yellow] {path}: {key}: {scenarios[0]} sets it too: the programme's change is "
                "applied as a ratio to the district's number (docs/districts.md)",
                soft_wrap=True,
            )
    files = [str(path) for path in scenarios] + [f"{path} on {scenarios[0]}" for path in programme or []]
    _checked(check_comparable, loaded, files)
    drawing = briefing if uncertainty is None else uncertainty
    ensemble = _district_ensemble(scenarios[0], loaded[0]) if drawing else None
    if not allow_large:
        _checked(check_memory, loaded, files, workers)
    progress = _progress()
    task = progress.add_task("runs (scenario x replicate)", total=len(loaded) * replicates)
    if attribution:
        from model.attribution import attribute, extra_runs, write_attribution

        subsets = progress.add_task(
            "attribution runs (lever subset x replicate)", total=extra_runs(loaded) * replicates
        )
    name = folder_name([s.name for s in loaded])
    with _interruptible(_written_whole(progress, "a comparison")), _new_folder(results, name) as folder:
        with progress:
            comparison = run_comparison(
                loaded,
                replicates,
                seed,
                workers,
                on_done=lambda _: progress.advance(task),
                uncertainty=drawing,
                ensemble=ensemble,
            )
            if attribution:
                started = time.perf_counter()
                attributions = _checked(attribute, comparison, workers, lambda _: progress.advance(subsets))
                attribution_s = time.perf_counter() - started
        print_comparison(comparison)
        if attribution:
            print_attribution(attributions)
            out.print(f"attribution: {extra_runs(loaded) * replicates} further runs in {attribution_s:.1f} s")
            _checked(write_attribution, folder, attributions)
        _checked(comparison.write_into, folder, microdata)
    out.print(
        f"\nwrote {escape(str(folder))}/ ({'attribution.csv, ' if attribution else ''}comparison.csv, comparison.xlsx, "
        "comparison.de.xlsx, timeseries.parquet, "
        f"summary.csv, {'parameter_draws.csv, ' if comparison.reference.uncertainty else ''}"
        f"{'helps/census/assessments/population.parquet, ' if microdata else ''}"
        f"manifest.json) in {comparison.reference.wall_time_s:.1f} s",
        soft_wrap=True,
    )
    if briefing:
        report(folder, workers=workers)


def _district_ensemble(path: Path, scenario: Scenario) -> Ensemble | None:
    """The parameter sets that fit the reference district (`<name>.ensemble.csv` next to it), checked; say so."""
    from model.ensemble import Ensemble, ensemble_file

    found = ensemble_file(path)
    if found is None:
        return None
    ensemble = _checked(Ensemble.load, found, scenario)
    out.print(
        f"{escape(str(path))}: its fitted mechanisms are drawn per replicate from {escape(str(found))} "
        f"({len(ensemble.weights)} parameter sets, by weight; the same set for every scenario)",
        soft_wrap=True,
    )
    return ensemble


@command
def report(
    folder: Annotated[Path, typer.Argument(help="results folder written by prevsim compare")],
    lang: Annotated[str, typer.Option(metavar="de|en", help="language: de (German) or en (English)")] = "de",
    sensitivity: Annotated[
        Path | None,
        typer.Option(
            metavar="FOLDER",
            help="folder of a finished prevsim experiment on these scenarios (Sobol, eFAST or Morris); without it, "
            "the five most uncertain assumptions are varied one at a time",
        ),
    ] = None,
    uncertainties: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="experiment file whose uncertainties the one-at-a-time analysis chooses from "
            "(default: experiments/sobol_prevention.toml)",
        ),
    ] = None,
    oat_replicates: Annotated[int, typer.Option(min=1, help="replicates per one-at-a-time setting")] = 4,
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes (default: all cores)")] = None,
    output: Annotated[
        Path | None, typer.Option(metavar="FILE", help="file to write (default: briefing.html in FOLDER)")
    ] = None,
) -> None:
    """Write the briefing for the youth welfare committee: one HTML page that opens offline and prints on A4."""
    from model.report import write_briefing

    progress = _progress()

    def start(runs: int) -> None:  # only when model runs are needed (not for cached or experiment drivers)
        progress.start()
        progress.add_task("one-at-a-time runs (assumption x setting x scenario x replicate)", total=runs)

    try:
        page = _checked(
            write_briefing,
            folder,
            lang,
            sensitivity,
            uncertainties,
            oat_replicates,
            workers,
            start,
            lambda _: progress.advance(progress.task_ids[0]),
            output,
        )
    finally:
        progress.stop()
    out.print(f"wrote {escape(str(page))}", soft_wrap=True)


def print_comparison(comparison: Comparison) -> None:
    """Paired differences over the horizon (with the price/volume split of the cost), what children gain, the
    economics of both perspectives, and the net saving by year."""
    import pandas as pd

    from model.comparison import BASE_RATE, DISCOUNT_RATES, invests, npv_key
    from model.outcomes import OUTCOMES, PER_FAMILY, SOCIETAL, SOCIETAL_LABEL, note_of
    from model.scenario import CATEGORIES

    table = comparison.table().set_index(["scenario", "year", "figure"])
    others = comparison.names[1:]

    def cell(scenario: str, year: str, figure: str, scale: float = 1.0, missing: str = "n/a") -> str:
        row = table.loc[(scenario, year, figure)]
        if pd.isna(row["mean"]) and (note := note_of(table, scenario, figure)):
            return note.split(":")[0]  # "none" (a net cost), "n/a", "not shown": the note in comparison.csv says why
        if row["n"] == 0:
            return missing
        number = (lambda x: f"{x:.0f}") if figure == "break_even_year" else _short
        if pd.isna(row["p05"]) and pd.isna(row["p95"]):  # a figure of the scenario's means (per family)
            return number(row["mean"] * scale)
        if pd.isna(row["p05"]):  # a ratio whose low end is a net cost (the note says so)
            return f"{number(row['mean'] * scale)}\n[dim]net cost .. {number(row['p95'] * scale)}[/dim]"
        mean, low, high = (
            number(row[c] * scale) for c in ("p50" if figure == "break_even_year" else "mean", "p05", "p95")
        )
        return f"{mean}\n[dim]{low} .. {high}[/dim]"

    def share(scenario: str, figure: str) -> str:
        value = table.loc[(scenario, "horizon", figure), "mean"]
        return "n/a" if pd.isna(value) or not invests(table, scenario) else f"{value:.0%}"

    def each(make: Callable[[str], str]) -> list[str]:
        return [make(s) for s in others]

    cat = comparison.reference.catalogue
    out_of_home = cat.helps_in_role("out_of_home")
    horizon = [(f"{h} begun", each(lambda s, h=h: cell(s, "horizon", f"begun_{h}"))) for h in out_of_home]
    horizon += [(f"{h} months", each(lambda s, h=h: cell(s, "horizon", f"help_months_{h}"))) for h in out_of_home]
    horizon += [
        (f"cost {c}, M EUR", each(lambda s, c=c: cell(s, "horizon", f"cost_eur_{c}", 1e-6)))
        for c in [*CATEGORIES, "total"]
    ]
    horizon += [
        (f"  of which {part}, M EUR", each(lambda s, part=part: cell(s, "horizon", f"cost_change_{part}_eur", 1e-6)))
        for part in ("price", "volume", "interaction")
    ]
    print_split(f"Change against {comparison.names[0]}, sum over the horizon (district)", "figure", others, horizon)

    gains = [(f.replace("_", " "), each(lambda s, f=f: cell(s, "horizon", f))) for f in OUTCOMES]
    gains += [
        (f"{f.removesuffix('_eur').replace('_', ' ')}, k EUR", each(lambda s, f=f: cell(s, "horizon", f, 1e-3)))
        for f in PER_FAMILY
    ]
    print_split(f"What children gain against {comparison.names[0]}, sum over the horizon", "figure", others, gains)

    econ = [
        ("extra early spending, M EUR", each(lambda s: cell(s, "horizon", "extra_spending_pv_eur", 1e-6))),
        ("savings on late help, M EUR", each(lambda s: cell(s, "horizon", "savings_pv_eur", 1e-6))),
    ]
    econ += [
        (f"net present value {rate:.1%}, M EUR", each(lambda s, rate=rate: cell(s, "horizon", npv_key(rate), 1e-6)))
        for rate in DISCOUNT_RATES
    ]
    econ += [
        ("benefit-cost ratio", each(lambda s: cell(s, "horizon", "benefit_cost_ratio"))),
        ("chance savings > spending", each(lambda s: share(s, "savings_exceed_spending"))),
        (
            "break-even year (median)",
            each(
                lambda s: (
                    "n/a"
                    if share(s, "break_even_share") == "n/a"
                    else cell(s, "horizon", "break_even_year", missing="never")
                )
            ),
        ),
        ("  replicates that break even", each(lambda s: share(s, "break_even_share"))),
    ]
    print_split(
        f"Does it pay? Youth-welfare budget; present values at the start year, {BASE_RATE:.1%} real unless named",
        "figure",
        others,
        econ,
    )
    societal = [
        (
            "follow-up costs avoided, M EUR",
            each(lambda s: cell(s, "horizon", f"follow_up_savings_pv_eur{SOCIETAL}", 1e-6)),
        ),
        (
            f"net present value {BASE_RATE:.1%}, M EUR",
            each(lambda s: cell(s, "horizon", npv_key(BASE_RATE) + SOCIETAL, 1e-6)),
        ),
        ("benefit-cost ratio", each(lambda s: cell(s, "horizon", f"benefit_cost_ratio{SOCIETAL}"))),
        ("chance savings > spending", each(lambda s: share(s, f"savings_exceed_spending{SOCIETAL}"))),
    ]
    print_split(f"Does it pay? The {SOCIETAL_LABEL}, present values at the start year", "figure", others, societal)

    years = sorted({int(y) for y in table.index.get_level_values("year") if y != "horizon"})
    shown = sorted({years[0], years[1 % len(years)], years[len(years) // 4], years[len(years) // 2], years[-1]})
    by_year = [(str(year), each(lambda s, year=year: cell(s, str(year), "net_saving_eur", 1e-3))) for year in shown]
    print_split(
        "Net saving per year (savings on late help - extra early spending), thousand EUR", "year", others, by_year
    )
    out.print(
        "Each cell: mean of the paired differences over replicates, below it the 90 % interval (5-95 %). "
        "Negative changes are fewer placements or lower cost. Price: unit costs changed x the reference's months of "
        "help (a price effect, not a programme effect); volume: months of help changed x the reference's unit costs. "
        "Early spending: prevention, ambulant and semi-residential help; late help: residential care and crisis "
        "intake. Break-even: the first year in which cumulative savings exceed cumulative extra spending "
        "(undiscounted; n/a for a scenario that spends no more on early help). Benefit-cost ratio and chance: n/a "
        "without extra spending; none where the savings are negative (a net cost: see the net present value). "
        "Per family: a ratio of the means over the horizon (a negative net cost: it saves money as well), not shown "
        "where nothing is avoided beyond the replicates' noise. The societal perspective adds follow-up costs "
        "outside youth welfare (health, education, labour market, justice; germany.toml "
        "follow_up_costs_outside_youth_welfare); the note column of comparison.csv says why a figure is not shown."
    )
    out.print(f"Uncertainty covered: {uncertainty_note(comparison)}", soft_wrap=True)
    for line in few_replicates_warnings(comparison):
        err.print(f"[yellow]warning:[/yellow] {line}", soft_wrap=True)  # one line each, for grep


def uncertainty_note(comparison: Comparison) -> str:
    """Which uncertainty the intervals and chances cover, and how many numbers were drawn."""
    from model.uncertainty import uncertain_numbers

    if not comparison.reference.uncertainty:
        return (
            f"{comparison.uncertainty} (every effect size and unit cost fixed; --uncertainty also draws the "
            "numbers that carry a range)"
        )
    drawn = {path for r in comparison.results for path, _ in uncertain_numbers(r.scenario)}
    ensemble = comparison.reference.ensemble
    sets = f" and one of {len(ensemble.weights)} fitted parameter sets of the district" if ensemble else ""
    return (
        f"{comparison.uncertainty} ({len(drawn)} numbers with a range{sets} drawn once per replicate, the same "
        "draw for every scenario; parameter_draws.csv)"
    )


def few_replicates_warnings(comparison: Comparison) -> list[str]:
    """One line per alternative whose "chance savings > spending" is too uncertain for its replicates, or whose
    break-even year's interval is wider than the horizon."""
    from model.comparison import CHANCE_SE_LIMIT, chance_standard_error, invests, replicates_for_chance
    from model.outcomes import note_of

    table = comparison.table().set_index(["scenario", "year", "figure"])
    n = len(comparison.reference.seeds)
    lines = []
    for name in comparison.names[1:]:
        chance = table.loc[(name, "horizon", "savings_exceed_spending"), "mean"]
        if not invests(table, name):
            continue  # spends nothing extra: no chance that it pays is claimed
        error = chance_standard_error(chance, n)
        if error > CHANCE_SE_LIMIT:
            lines.append(
                f"{name}: chance savings > spending {chance:.0%} rests on {n} replicates (Monte Carlo standard error "
                f"about {error * 100:.0f} points, more than {CHANCE_SE_LIMIT * 100:.0f}); for that figure use "
                f"--replicates {replicates_for_chance(chance, n)} or more"
            )
        if (note := note_of(table, name, "break_even_year")).startswith("warning: "):
            lines.append(f"{name}: {note.removeprefix('warning: ')}")
    return lines


def print_attribution(attributions: list[Attribution]) -> None:
    """Per alternative: each lever group's Shapley value of each attributed outcome, mean and 90 % interval."""
    from model.attribution import OUTCOMES, PRICES

    headings = {"npv_eur_at_3_5pct": "NPV 3.5 %, M EUR", "cost_eur_total": "total cost, M EUR"}
    scales = {"npv_eur_at_3_5pct": 1e-6, "cost_eur_total": 1e-6}
    for a in attributions:
        table = a.table().set_index(["outcome", "group"])
        rows = []
        for group in [*(g.name for g in a.groups), "total"]:
            cells = []
            for outcome in OUTCOMES:
                row, scale = table.loc[(outcome, group)], scales.get(outcome, 1.0)
                low, high = (_short(row[c] * scale) for c in ("p05", "p95"))
                cells.append(f"{_short(row['mean'] * scale)}\n[dim]{low} .. {high}[/dim]")
            label = f"{group} (a price, not a programme effect)" if group == PRICES else group
            rows.append((f"[bold]{label}[/bold]" if group == "total" else label, cells))
        columns = [headings.get(o, o.replace("_", " ")) for o in OUTCOMES]
        print_split(
            f"Where the result of {a.scenario} comes from (Shapley values of its lever groups)",
            "lever group",
            columns,
            rows,
        )
    out.print(
        "Each cell: mean over replicates of the group's Shapley value (its average contribution over every order "
        "of switching the groups on, same replicate seeds), below it the 90 % interval. The groups add up to the "
        "total in every replicate. Placements: helps with access = placement, begun over the horizon."
    )


def print_split(title: str, first: str, names: list[str], rows: list[tuple[str, list[str]]]) -> None:
    """A table with one column per scenario, split into as many tables as it takes for each to fit the console
    at its natural width: piped or in a narrow terminal, no column is dropped and no number cut."""

    def table_of(columns: list[int], part: str) -> Table:
        table = Table(title=title + part, title_justify="left")
        table.add_column(first, no_wrap=True, overflow="fold")
        for i in columns:
            table.add_column(names[i].replace("_", " "), justify="right", no_wrap=True, overflow="fold")
        for label, cells in rows:
            table.add_row(label, *(cells[i] for i in columns))
        return table

    unbounded = out.options.update_width(10_000)  # to measure the natural width, not the width it is given
    groups: list[list[int]] = [[]]
    for i in range(len(names)):
        wider = table_of([*groups[-1], i], "")
        if groups[-1] and Measurement.get(out, unbounded, wider).maximum > out.width:
            groups.append([])
        groups[-1].append(i)
    for n, columns in enumerate(groups):
        out.print(table_of(columns, f" ({n + 1}/{len(groups)})" if len(groups) > 1 else ""))


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@app.command(name="app", cls=_PlainCommand)
def workbench(
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to serve on")] = 8765,
    host: Annotated[
        str, typer.Option(help="address to bind; other than loopback, anyone on the network may use it")
    ] = ("127.0.0.1"),
    scenarios: Annotated[Path, typer.Option(metavar="FOLDER", help="folder of the scenario files to pick from")] = Path(
        "scenarios"
    ),
    results: ResultsFolder = Path("results"),
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes (default: all cores)")] = None,
    replicates: Annotated[
        int | None,
        typer.Option(
            min=4, max=100, help="simulation runs per scenario a page starts with (default 20; the page can change it)"
        ),
    ] = None,
) -> None:
    """Start the planner's workbench in the browser (Solara): move levers, see placements, cost and break-even."""
    from model import workbench as bench

    os.environ.update(bench.OFFLINE_SETTINGS)  # before Solara is imported: it reads its settings then
    if replicates:
        os.environ[bench.REPLICATES_ENV] = str(replicates)  # read when the page module is imported
    from model import app as workbench_app

    if not scenarios.is_dir():
        err.print(f"--scenarios: {escape(str(scenarios))}: not a folder of scenario files")
        raise typer.Exit(EXIT_BAD_INPUT)
    if host not in LOOPBACK_HOSTS:
        err.print(
            f"warning: --host {escape(host)}: the app is reachable from other machines and has no login; "
            "anyone who reaches it can run simulations and write files"
        )
    os.environ[bench.SCENARIOS_ENV] = str(scenarios.resolve())
    os.environ[bench.RESULTS_ENV] = str(results.resolve())
    if workers:
        os.environ[bench.WORKERS_ENV] = str(workers)
    out.print(f"prevsim app on http://{host}:{port} (Ctrl-C stops it)", soft_wrap=True)
    try:
        workbench_app.serve(host, port)
    finally:
        workbench_app.close_engine()


@command
def experiment(
    file: Annotated[Path, typer.Argument(help="experiment file (TOML)")],
    workers: Annotated[int | None, typer.Option(min=1, help="local worker processes (default: all cores)")] = None,
    cluster: Annotated[
        str | None,
        typer.Option(metavar="ADDRESS", help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786"),
    ] = None,
    resume: Annotated[bool, typer.Option(help="continue the latest interrupted run of this experiment")] = False,
    results: ResultsFolder = Path("results"),
    allow_large: AllowLarge = False,
    allow_path: AllowPath = None,
) -> None:
    """Run an experiment (grid, Monte Carlo, Latin hypercube, Sobol, Morris, eFAST) and analyse it."""
    from model import experiment as ex
    from model.run import check_memory

    exp = _checked(ex.load_experiment, file, allow_path or [], allow_large)
    if not allow_large and not cluster:
        _checked(check_memory, exp.scenarios, [str(file)] * len(exp.scenarios), workers)
    evaluator = _connect(cluster) if cluster else ex.LocalEvaluator(workers)
    folder = _experiment_folder(exp, results, resume)
    total = len(exp.design) * exp.spec.replicates
    done = sum(len(u) for u in exp.batches() if ex.part_path(folder, u).exists()) * exp.spec.replicates
    started = time.perf_counter()

    def kept() -> str:
        units = exp.batches()
        finished = sum(ex.part_path(folder, u).exists() for u in units)
        command = shlex.join(["prevsim", "experiment", str(file), "--resume", "--results", str(results)])
        return f"kept {finished} of {len(units)} work units in {folder}/; continue with: {command}"

    try:
        with _interruptible(kept), _progress() as progress:
            task = progress.add_task(f"{exp.spec.name}: runs", total=total, completed=done)
            runs = _checked(ex.run_experiment, exp, folder, evaluator, lambda n: progress.advance(task, n))
    finally:
        if cluster:
            evaluator.close()
    wall_time_s = time.perf_counter() - started
    written = _checked(ex.write_analysis, exp, folder, runs)
    indices = written.get("indices")
    if indices is not None and len(indices):
        out.print(indices.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for note in written["notes"]:
        out.print(f"[yellow]note:[/yellow] {escape(note)}")
    model_runs = (total - done) * exp.model_runs_per_replicate
    out.print(
        f"\n{total - done} design-point replicates ({model_runs} model runs) in {wall_time_s:.1f} s "
        f"({model_runs / wall_time_s:.2f} model runs/s); wrote {escape(str(folder))}/"
    )


@command
def discover(
    folder: Annotated[Path, typer.Argument(help="results folder written by prevsim experiment")],
    outcome: Annotated[str | None, typer.Option(help="the outcome, e.g. npv_eur_at_3_5pct")] = None,
    below: Annotated[float | None, typer.Option(metavar="X", help="points of interest: outcome below X")] = None,
    above: Annotated[float | None, typer.Option(metavar="X", help="points of interest: outcome above X")] = None,
    density: Annotated[float, typer.Option(min=0.0, max=1.0, help="least share of points of interest in a box")] = 0.8,
    boxes: Annotated[int, typer.Option(min=1, help="boxes to find at most, one after the other")] = 3,
    mass_min: Annotated[float, typer.Option(min=0.0, max=1.0, help="smallest box, as a share of the points")] = 0.05,
    peel_alpha: Annotated[float, typer.Option(min=0.0, max=0.5, help="share of a box peeled off per step")] = 0.05,
    all_restrictions: Annotated[
        bool, typer.Option(help="keep restrictions whose quasi-p values are all 0.05 or more (default: dropped)")
    ] = False,
) -> None:
    """Scenario discovery: the conditions (boxes of parameter ranges) under which an outcome is below or above a
    threshold, by PRIM (EMA Workbench) on an experiment's runs; writes a discovery folder inside it."""
    import pandas as pd

    from model import discover as sd

    e = _checked(sd.read_points, folder)
    name, threshold, is_below = _checked(sd.check_request, e.points, e.outcomes, outcome, below, above)
    settings = {"density": density, "max_boxes": boxes, "peel_alpha": peel_alpha, "mass_min": mass_min}
    found = sd.discover(
        e.points,
        e.parameters,
        name,
        threshold,
        is_below,
        e.ranges,
        e.relative,
        **settings,
        all_restrictions=all_restrictions,
    )
    settings |= {"all_restrictions": all_restrictions}
    written = _checked(sd.write_discovery, folder, found, settings)
    out.print(
        f"{found.of_interest} of {found.points} design points have {escape(found.condition)} (mean over replicates)"
    )
    for number, rows in found.boxes.groupby("box") if len(found.boxes) else []:
        first = rows.iloc[0]
        table = Table(
            title=f"Box {number}: coverage {first['coverage']:.0%}, density {first['density']:.0%}, "
            f"{first['points_in_box']} design points ({first['mass']:.0%})",
            title_justify="left",
        )
        for column in ("parameter", "in the box", "range drawn", "quasi-p (lower, upper)"):
            table.add_column(column, overflow="fold")
        for _, row in rows.iterrows():
            quasi_p = " ".join("-" if pd.isna(q) else f"{q:.2g}" for q in (row["quasi_p_lower"], row["quasi_p_upper"]))
            table.add_row(
                row["parameter"] + (" (factor)" if row["relative"] else ""),
                f"{row['lower']:.4g} to {row['upper']:.4g}",
                f"{row['range_low']:.4g} to {row['range_high']:.4g}",
                quasi_p,
            )
        out.print(table)
    for note in found.notes:
        out.print(f"[yellow]note:[/yellow] {escape(note)}")
    out.print(
        "coverage: share of all points of interest inside the box; density: share of the box's points that are of "
        "interest; quasi-p below 0.05: the restriction matters. Boxes describe the experiment's ranges only."
    )
    out.print(
        f"wrote {escape(str(written))}/ (discovery.csv, peeling.csv, discovery.html, manifest.json)", soft_wrap=True
    )


@command
def cluster(
    workers: Annotated[int | None, typer.Option(min=1, help="worker processes (default: all cores)")] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="scheduler port (0: any free one)")] = 8786,
    dashboard_port: Annotated[int, typer.Option(min=0, max=65535, help="dashboard port (0: any free one)")] = 8787,
) -> None:
    """Start a Dask scheduler and workers on this machine, reachable from it only, until Ctrl-C."""
    import dask
    from distributed import LocalCluster

    from model.run import default_workers

    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which halves this model's speed (README)
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
        LocalCluster(
            n_workers=workers or default_workers(),
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            scheduler_port=port,
            dashboard_address=f"{LOOPBACK}:{dashboard_port}",
            preload=["model.workers"],  # workers ignore Ctrl-C (dask_setup)
        ) as local,
    ):
        out.print(
            f"Dask scheduler at {local.scheduler_address} (dashboard {local.dashboard_link}, if bokeh is installed), "
            f"{len(local.workers)} workers; run: prevsim experiment FILE --cluster {local.scheduler_address}; "
            "Ctrl-C stops them",
            soft_wrap=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            out.print("stopping the cluster")


@command
def bench(
    sizes: Annotated[
        str, typer.Option(metavar="N,N,...", help="numbers of families, comma-separated")
    ] = "1000,10000,100000,1000000",
    months: Annotated[int, typer.Option(min=2, help="monthly steps timed per run")] = 120,
    runs: Annotated[int, typer.Option(min=1, help="runs per size (median, min, max)")] = 3,
    warmup: Annotated[int, typer.Option(min=0, help="untimed months before timing (stocks fill up)")] = 60,
    scenario: Annotated[Path, typer.Option(metavar="FILE", help="scenario to scale")] = Path("scenarios/baseline.toml"),
    tasks: Annotated[bool, typer.Option(help="time whole tasks users feel instead (see docs/performance.md)")] = False,
    repeats: Annotated[int, typer.Option(min=1, help="--tasks: alternating runs of each task (medians)")] = 3,
) -> None:
    """Family-months per second of the engine by district size, memory per family, and how time scales."""
    from model.bench import scaling_exponent, time_engine

    base = _load(scenario)
    if tasks:
        _bench_tasks(base, scenario, repeats)
        return
    try:
        families = [int(x) for x in sizes.split(",")]
    except ValueError:
        typer.echo(f"--sizes: {sizes!r}: give whole numbers separated by commas, e.g. 1000,10000", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    from model.reference import ReferenceModel

    title = f"Engine and reference: {months} months per run after {warmup} untimed, {runs} runs per size"
    table = Table(title=title, title_justify="left")
    columns = ("families", "family-months/s median", "min", "max", "s per run", "peak bytes/family")
    for column in (*columns, "reference family-months/s", "engine / reference"):
        table.add_column(column, justify="right", overflow="fold")  # narrow: wrapped, never cut
    timings, reference_seconds = [], None  # the reference runs while one run of it stays under a minute
    for n in families:
        timing = time_engine(base, n, months, runs, warmup)
        timings.append(timing)
        r = timing.row()
        cells = [f"{r[k]:,.0f}" for k in ("median_family_months_per_s", "min_family_months_per_s")]
        cells += [f"{r['max_family_months_per_s']:,.0f}", f"{r['median_seconds']:.2f}"]
        cells += [f"{r['peak_bytes_per_family']:,.0f}"]
        estimate = None if reference_seconds is None else reference_seconds[1] * n / reference_seconds[0]
        if n > REFERENCE_MAX_FAMILIES:
            cells += [f"(not run above {REFERENCE_MAX_FAMILIES:,} families)", ""]
        elif estimate is None or estimate * (months + warmup) / months < 60:
            reference = time_engine(base, n, months, runs, warmup, make=ReferenceModel, name="reference")
            reference_seconds = (n, statistics.median(reference.seconds))
            rate = statistics.median(reference.family_months_per_second)
            cells += [f"{rate:,.0f}", f"{r['median_family_months_per_s'] / rate:.1f}"]
        else:
            cells += ["(over a minute)", ""]
        table.add_row(f"{n:,}", *cells)
    out.print(table)
    if len(timings) > 1:
        out.print(f"time ~ families^{scaling_exponent(timings):.2f} (1.00 = linear)")
    middle = families[len(families) // 2]
    half, whole = (time_engine(base, middle, m, runs, warmup) for m in (months // 2, months))
    ratio = statistics.median(whole.seconds) / statistics.median(half.seconds)
    out.print(f"{middle:,} families: {months} months take {ratio:.2f} x the time of {months // 2} (2.00 = linear)")


def _bench_tasks(base, path: Path, repeats: int) -> None:
    """One baseline run; compare 2 x 100 replicates; an experiment of 64 design points x 2 scenarios x 2
    replicates; the projected time of the N = 1024, 12-parameter Sobol. Each task without and with the shared
    past (`model.past`), alternating, `repeats` times: medians."""
    from model.bench import (
        SOBOL_PARAMETERS,
        SOBOL_SAMPLES,
        TASK_POINTS,
        back_to_back,
        sobol_runs,
        time_compare,
        time_experiment,
    )
    from model.experiment import load_experiment
    from model.run import default_workers
    from model.simulation import DistrictModel

    seconds = []
    for seed in (1, 2, 3):  # the first run in a process also loads the compiled code
        started = time.perf_counter()
        DistrictModel(base, seed).run()
        seconds.append(time.perf_counter() - started)
    out.print(
        f"one run of {base.name} ({base.simulation.burn_in_years} + {base.simulation.horizon_years} years): "
        f"{seconds[0]:.2f} s as the first in a process (loading the compiled code), then {seconds[1]:.2f} s, "
        f"{seconds[2]:.2f} s"
    )
    alternative = _load(path.parent / "osterode_prevention.toml")
    experiment = load_experiment(Path("experiments/sobol_prevention.toml"))
    experiment_runs = TASK_POINTS * experiment.spec.replicates * len(experiment.scenarios)
    tasks = {
        f"compare {base.name} {alternative.name}, 2 x 100 replicates": (
            200,
            lambda shared: time_compare([base, alternative], 100, shared),
        ),
        f"experiment {experiment.spec.name}: {TASK_POINTS} points x 2 scenarios x {experiment.spec.replicates}": (
            experiment_runs,
            lambda shared: time_experiment(experiment, TASK_POINTS, shared),
        ),
    }
    table = Table(
        title=f"Tasks on {default_workers()} workers, median of {repeats} alternating runs", title_justify="left"
    )
    for column in ("task", "runs", "full runs: s (runs/s)", "shared past: s (runs/s)", "after / before"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for name, (runs, task) in tasks.items():
        with _progress() as progress:
            progress.add_task(name, total=None)
            before, after = (statistics.median(s) for s in back_to_back(task, repeats))
        cells = [f"{s:.1f} ({runs / s:.2f})" for s in (before, after)]
        table.add_row(name, f"{runs:,}", *cells, f"{after / before:.2f}")
    rates = (experiment_runs / before, experiment_runs / after)
    projected = [f"{sobol_runs() / rate / 60:.0f} min" for rate in rates]
    table.add_row(
        f"Sobol N = {SOBOL_SAMPLES}, {SOBOL_PARAMETERS} parameters (projected at the experiment's rate)",
        f"{sobol_runs():,}",
        *projected,
        "",
    )
    out.print(table)
    out.print("The machine is shared: figures drift between runs; compare only within this table.")


def _connect(address: str):
    """A Dask evaluator on the scheduler at `address`, or one line and exit 2 (malformed) or 1 (unreachable)."""
    from model.experiment import DaskEvaluator

    try:
        return DaskEvaluator(address)
    except ValueError as err:
        typer.echo(f"--cluster: {address!r}: not a scheduler address (e.g. tcp://127.0.0.1:8786): {err}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (OSError, TimeoutError) as err:
        typer.echo(f"--cluster: {address}: no scheduler answers: {err}", err=True)
        raise typer.Exit(EXIT_ENVIRONMENT) from None


EXIT_MISFIT = 3  # calibrate: the fit misses a figure by more than 15 % and --accept-misfit was not given


@command
def calibrate(
    district_file: Annotated[Path, typer.Argument(help="district file (.toml, or .xlsx from the template)")],
    budget_minutes: Annotated[float, typer.Option(min=0.01, help="stop the search after this many minutes")] = 10.0,
    replicates: Annotated[int, typer.Option(min=1, help="replicates per trial (the same seeds for all)")] = 4,
    seed: Annotated[int, typer.Option(min=0, help="seed of the replicate seeds and of the sampler")] = 12345,
    fit: Annotated[
        list[str] | None,
        typer.Option("--fit", metavar="KEY", help="a key path to fit, repeatable (default: docs/districts.md)"),
    ] = None,
    max_trials: Annotated[int | None, typer.Option(min=1, help="stop after this many trials")] = None,
    workers: Annotated[int, typer.Option(min=1, help="trials run side by side, one process each")] = 1,
    accept_misfit: Annotated[
        bool, typer.Option(help="write the scenario even if a figure is missed by > 15 %")
    ] = False,
    force: Annotated[bool, typer.Option(help="replace the scenario, ensemble and report if they exist")] = False,
    out_folder: Annotated[Path, typer.Option("--out", metavar="FOLDER", help="where the scenario is written")] = Path(
        "scenarios"
    ),
) -> None:
    """Fit a district scenario to a district's own figures: <name>.toml, .ensemble.csv and .fit.html."""
    from model.district import load_district
    from model.district_fit import base_file, ensemble_frame, fit_district, report_html, scenario_text

    district = _checked(load_district, district_file)
    base_path = _checked(base_file, district_file, district)
    folder = _checked(writable_folder, out_folder)
    targets = [folder / f"{district.name}{suffix}" for suffix in (".toml", ".ensemble.csv", ".fit.html")]
    taken = [t for t in targets if t.exists()]
    if taken and not force:
        for target in taken:
            typer.echo(f"{target}: exists; give --force to replace it, or another --out folder", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    progress = _progress()
    budget_s = budget_minutes * 60
    task = progress.add_task("fit: trials", total=max_trials or budget_s)

    def advanced(trials: int, best: float, seconds: float) -> None:
        done = trials if max_trials else min(seconds, budget_s)
        progress.update(task, completed=done, description=f"fit: {trials} trials, best loss {best:.3g}")

    with _interruptible(lambda: "nothing written (a fit is written whole)"), progress:
        result = _checked(
            fit_district,
            district,
            str(district_file),
            base_path,
            fit,
            replicates,
            seed,
            budget_s,
            max_trials,
            workers,
            advanced,
        )
    print_fit(result)
    misses = result.comparison.misses()
    _checked(write_text, targets[2], report_html(result), True)
    if len(misses) and not accept_misfit:
        for row in misses.itertuples():
            typer.echo(
                f"{district_file}: {row.figure}: the model reaches {row.model:.4g}, the district has {row.local:.4g} "
                f"({row.deviation:+.0%}; allowed +-15 %)",
                err=True,
            )
        typer.echo(
            f"not written: {targets[0]} (give --accept-misfit to write it anyway); report: {targets[2]}", err=True
        )
        raise typer.Exit(EXIT_MISFIT)
    _checked(write_text, targets[0], scenario_text(result, folder), force)
    _checked(write_atomically, targets[1], lambda path: ensemble_frame(result).to_csv(path, index=False), force)
    out.print(
        f"wrote {escape(str(targets[0]))}, {targets[1].name} ({len(result.ensemble)} parameter sets), "
        f"{targets[2].name} in {result.seconds:.0f} s",
        soft_wrap=True,
    )


def print_fit(fit: Fit) -> None:
    """The fit on the console: each figure and year against the model, then the fitted parameters."""
    rows = fit.comparison.rows
    table = Table(title=f"{fit.district.district_name}: district figures vs the fitted model", title_justify="left")
    for column in ("figure", "year", "district", "model (5-95 %)", "model / district"):
        table.add_column(column, overflow="fold")
    for r in rows.itertuples():
        ratio = f"{r.ratio:.2f}" if abs(r.ratio - 1) <= 0.15 else f"[bold]{r.ratio:.2f}[/bold]"
        table.add_row(
            r.figure, str(r.year), _short(r.local), f"{_short(r.model)} ({_short(r.low)}-{_short(r.high)})", ratio
        )
    out.print(table)
    means = Table(title="Mean over the years (a figure misses if it is off by more than 15 %)", title_justify="left")
    for column in ("figure", "district", "model", "deviation"):
        means.add_column(column, overflow="fold")
    for r in fit.comparison.per_figure().itertuples():
        deviation = f"{r.deviation:+.1%}" if abs(r.deviation) <= 0.15 else f"[bold]{r.deviation:+.1%} miss[/bold]"
        means.add_row(r.figure, _short(r.local), _short(r.model), deviation)
    out.print(means)
    params = Table(title="Fitted parameters (start: the scenario extended)", title_justify="left")
    for column in ("parameter", "start", "fitted", "ensemble range"):
        params.add_column(column, overflow="fold")
    for r in fit.uncertainty().itertuples():
        params.add_row(r.parameter, f"{r.start:.4g}", f"{r.fitted:.4g}", f"{r.ensemble_min:.4g}-{r.ensemble_max:.4g}")
    out.print(params)
    out.print(
        f"{len(fit.trials)} trials, {len(fit.ensemble)} in the ensemble. Rates per 10,000 under 21; the band is "
        "replicate noise of the best parameters, the ensemble range the parameters' remaining uncertainty."
    )


@app.command(name="district-template", cls=_PlainCommand)
def district_template(
    output: Annotated[Path, typer.Argument(help="the .xlsx file to write")] = Path("scenarios/districts/template.xlsx"),
    force: Annotated[bool, typer.Option(help="replace the file if it exists")] = False,
) -> None:
    """Write the spreadsheet template of a district file (from the same schema the TOML files are checked with)."""
    from model.district import write_template

    if output.exists() and not force:
        typer.echo(f"{output}: exists; give --force to replace it", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    _checked(writable_folder, output.parent)
    _checked(write_template, output)
    out.print(f"wrote {escape(str(output))}")


def _experiment_folder(exp, results: Path, resume: bool) -> Path:
    """A new folder, or with --resume the latest unfinished one of the same experiment."""
    from model.experiment import new_experiment_folder, unfinished_folders

    if not resume:
        return _checked(new_experiment_folder, exp, _checked(writable_folder, results))
    candidates = unfinished_folders(exp, results)
    if not candidates:
        typer.echo(
            f"{exp.path}: --resume: no unfinished run of experiment {exp.spec.name!r} with this content under "
            f"{results}/ (a changed file or scenario starts anew: leave out --resume)",
            err=True,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    out.print(f"resuming {escape(str(candidates[-1]))}")
    return candidates[-1]


def print_summary(result: SimulationResult) -> None:
    """Key figures per year (a few years) and over the horizon: mean and 5-95 % range over replicates."""
    from model.scenario import CATEGORIES

    summary = result.summary()
    years = sorted({y for y in summary["year"] if y != "horizon"}, key=int)
    shown = [*dict.fromkeys([years[0], years[len(years) // 2], years[-1]]), "horizon"]
    cat = result.catalogue
    placements = []
    out_of_home, crisis = cat.in_role("out_of_home"), cat.in_role("crisis")
    for i, h in enumerate(cat.help_names):
        if out_of_home[i]:
            placements.append((f"begun_{h}", h))
            if i == cat.unaccompanied_help or crisis[i]:
                placements.append((f"begun_unaccompanied_{h}", "  of which unaccompanied"))
    sections = [
        ("Placements and crisis intakes begun, per year (district)", placements, 1.0),
        (
            "Cases per 10,000 under 21 (stock 31 Dec + ended in year)",
            [("hze_cases_all", "all HzE")] + [(f"cases_{h}", h) for h in cat.help_names],
            1.0,
        ),
        (
            "Cost by category, million EUR per year (horizon: sum)",
            [(f"cost_eur_{c}", c) for c in [*CATEGORIES, "total"]],
            1e-6,
        ),
    ]
    indexed = summary.set_index(["figure", "year"])

    def cell(key: str, year: str, scale: float) -> str:
        mean, low, high = (_short(indexed.loc[(key, year), column] * scale) for column in ("mean", "p05", "p95"))
        return f"{mean}\n[dim]{low}-{high}[/dim]"

    for title, rows, scale in sections:
        cells = [(label, [cell(key, year, scale) for year in shown]) for key, label in rows]
        print_split(title, "figure", shown, cells)
    out.print(
        "Each cell: mean over replicates, below it the 5-95 % range. "
        "'horizon': counts and cost summed over all years, rates their mean."
    )


def _short(x: float) -> str:
    """About three significant digits, so that a range fits a narrow column."""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


if __name__ == "__main__":  # python -m model.cli
    app()
