"""The planner's workbench in the browser (`prevsim app`): a Solara page over model/workbench.py.

Pick a district and a programme, move its levers, and see the comparison with the district as it is: a first
estimate from a few replicates, refined in the background (worker processes; a change cancels the runs that
are still queued). The charts and headline figures are the briefing's own (model/report.py) on the comparison
`prevsim compare` would write; the words come from data/labels.toml ([de.app], [en.app]) and briefing.toml.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solara
from markupsafe import Markup, escape

from model.labels import words
from model.report import Page as BriefingPage
from model.report import Panel, cost_chart, cumulative_chart, placements_chart
from model.run import replicate_seeds
from model.scenario import Scenario, ScenarioError
from model.simulation import DistrictModel, Snapshot
from model.workbench import (
    DEFAULT_REPLICATES,
    REPLICATES_ENV,
    RESULTS_ENV,
    SCENARIOS_ENV,
    WORKERS_ENV,
    Choice,
    Engine,
    Estimate,
    Lever,
    briefing_for,
    choices,
    default_source,
    levers,
    plan,
    progressive,
    save_scenario,
    scenario_of,
    scenario_toml,
    start_of_horizon,
    warm_up,
)

# Solara's check of the rules of hooks flags Mesa 3.3's ComponentsView (a hook after its early return for no
# components, which the live view always has); the warning would greet every planner at start
warnings.filterwarnings(
    "ignore", message=r".*ComponentsView: `use_state` found despite early return", category=UserWarning
)
from mesa.visualization import SolaraViz, make_plot_component  # noqa: E402

DEFAULT_PROGRAMME = "osterode_prevention"
NONE = ""  # no programme: the plan is the district with the changed numbers
LIVE_PATH = "live"  # the live view's address below the page's

_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def engine() -> Engine:
    """The server's worker processes, started with the first page."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine(int(os.environ.get(WORKERS_ENV, "0")) or None)
        return _ENGINE


def close_engine() -> None:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is not None:
            _ENGINE.close()
            _ENGINE = None


def serve(host: str, port: int) -> None:
    """Start the workers on the pasts the first page needs, then serve the page until Ctrl-C (uvicorn with
    Solara's Starlette app)."""
    import uvicorn
    from solara.server.starlette import app as starlette_app

    district_choices, programme_choices = choices(scenarios_folder())
    if district_choices:
        district, programme = _defaults(district_choices, programme_choices)
        base = scenario_of(district.path, programme.path if programme else None)
        warm_up(engine(), scenario_of(district.path), base)
    uvicorn.run(starlette_app, host=host, port=port, log_level="warning")


def scenarios_folder() -> Path:
    return Path(os.environ.get(SCENARIOS_ENV, "scenarios"))


def _defaults(districts: list[Choice], programmes: list[Choice]) -> tuple[Choice, Choice | None]:
    """The district and programme a new page shows: the first district, the default programme if present."""
    return districts[0], next((c for c in programmes if c.name == DEFAULT_PROGRAMME), None)


lang = solara.reactive("de")
district_name = solara.reactive("")
programme_name = solara.reactive(DEFAULT_PROGRAMME)
other_names = solara.reactive([])
replicates = solara.reactive(int(os.environ.get(REPLICATES_ENV, DEFAULT_REPLICATES)))
changes: solara.Reactive[dict[str, float]] = solara.reactive({})
# the estimate shown and the run (inputs) it belongs to: an earlier run's stays, dimmed, until the next arrives
estimate: solara.Reactive[tuple[int, Estimate] | None] = solara.reactive(None)
run_number = solara.reactive(0)  # counts the inputs computed; the page shows it, so a test knows what it sees
# the estimate whose charts are drawn and its run: the tables of an estimate show first, its charts after
charted: solara.Reactive[tuple[int, Estimate] | None] = solara.reactive(None)
status: solara.Reactive[tuple[str, dict[str, str]]] = solara.reactive(("", {}))  # words key and its values
problems: solara.Reactive[list[str]] = solara.reactive([])


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


@solara.component
def Heading(text: str) -> None:
    """A heading as plain HTML (solara.Markdown would load KaTeX, which solara-assets lacks)."""
    solara.HTML(tag="h3", unsafe_innerHTML=str(escape(text)))


@solara.component
def LeverInput(lever: Lever, t: dict[str, Any], start_year: int) -> None:
    current = changes.value.get(lever.key, lever.value)

    def set_value(value: float | None) -> None:
        if value is None:
            return
        updated = {k: v for k, v in changes.value.items() if k != lever.key}
        # a slider snaps the file's value to its grid when drawn (127,392 -> 127,000): that is not a change
        if abs(value - lever.value) >= (lever.step if lever.slider else 0) and value != lever.value:
            updated[lever.key] = float(value)
        changes.set(updated)

    with solara.Column(gap="0px", classes=["lever"], style={"margin-bottom": "10px"}):
        if lever.slider:  # the label above the slider: beside it, a long label wraps over the source line
            solara.Text(f"{lever.label}: {_fmt(current)} {lever.unit}", style={"font-size": "14px"})
            solara.SliderFloat(
                "",
                value=current,
                min=lever.low,
                max=lever.high,
                step=lever.step,
                on_value=set_value,
            )
        else:
            solara.InputFloat(f"{lever.label} ({lever.unit})", value=current, on_value=set_value)
        note = f"{t['source']}: {lever.source}"
        if lever.key in changes.value:
            changed = t["changed"].format(year=start_year)
            note = f"{changed} ({_fmt(lever.value)} → {_fmt(current)}). " + note
        solara.Text(note, style={"font-size": "12px", "color": "#555"}, classes=["lever-source"])


def _scenarios(districts: dict[str, Path], programmes: dict[str, Path]) -> list[Scenario]:
    """Reference, the plan, then the other programmes (all on the chosen district)."""
    district = districts[district_name.value]
    reference = scenario_of(district)
    base = scenario_of(district, programmes[programme_name.value]) if programme_name.value else reference
    others = [scenario_of(district, programmes[name]) for name in other_names.value if name in programmes]
    return [reference, plan(base, changes.value), *others]


def _table_html(page: BriefingPage, rows: list[dict[str, Any]], shown: Estimate, run: int) -> str:
    """A table of the briefing's (Page.glance, Page.children: the same figures and words), one column per
    alternative; its data attributes say which inputs (run) and how many replicates it shows."""
    head = "".join(f"<th>{escape(page.title_of(n))}</th>" for n in page.results.alternatives)
    body = []
    for row in rows:
        cells = "".join(
            f"<td><div class='main'>{c['main']}</div><div class='detail'>{c['detail']}</div></td>" for c in row["cells"]
        )
        body.append(f"<tr><th scope='row'>{escape(row['label'])}</th>{cells}</tr>")
    return str(
        Markup(
            "<table class='figures' data-run='{}' data-done='{}' data-replicates='{}'><thead><tr><th></th>{}</tr>"
            "</thead><tbody>{}</tbody></table>"
            "<style>.figures td,.figures th{{padding:4px 10px;text-align:left;vertical-align:top;"
            "border-bottom:1px solid #ddd}} .figures .main{{font-size:18px;font-weight:600}} "
            ".figures .detail{{font-size:12px;color:#555}}</style>"
        ).format(run, shown.done, shown.replicates, Markup(head), Markup("".join(body)))
    )


@solara.component
def Results(t: dict[str, Any]) -> None:
    """Status, progress and the latest estimate. The same elements in the same places whatever the state, so
    that a new estimate updates the widgets (charts included) instead of replacing them: a replaced chart costs
    the browser its whole plotly bundle again, and a chart closed while it draws rejects a promise."""
    shown = estimate.value
    key, values = status.value
    solara.Text(t[key].format(**values) if key else "", classes=["status"])
    if shown is None or shown[0] != run_number.value:
        solara.ProgressLinear(True)
    else:
        solara.ProgressLinear(False if shown[1].final else 100 * shown[1].done / shown[1].replicates)
    if shown is not None:
        Figures(shown[1], shown[0], t)


@dataclass
class Tables:
    """An estimate's tables as the page draws them (the briefing's, HTML), in the page's language."""

    page: BriefingPage
    glance: str
    children: str


@dataclass
class Charts:
    """An estimate's charts (the briefing's), in the page's language."""

    page: BriefingPage
    placements: list[Panel]
    cost: list[Panel]
    cumulative: Any


def _tables(current: Estimate, run: int, language: str) -> Tables:
    page = BriefingPage(current.results, language)
    return Tables(
        page, _table_html(page, page.glance(), current, run), _table_html(page, page.children(), current, run)
    )


def _charts(current: Estimate, language: str) -> Charts:
    page = BriefingPage(current.results, language)
    return Charts(page, placements_chart(page), cost_chart(page), cumulative_chart(page))


@solara.component
def Figures(current: Estimate, run: int, t: dict[str, Any]) -> None:
    """The estimate's tables at once, its charts when the work thread has asked for them (`charted`): they take
    seconds on a busy machine, in the server and in the browser. Until then the charts drawn last stay: those of
    the same inputs as they are (fewer runs, the same plan), those of earlier inputs dimmed, as are the tables of
    earlier inputs while the new ones are computed."""
    tables = solara.use_memo(lambda: _tables(current, run, lang.value), dependencies=[id(current), run, lang.value])
    page = tables.page
    dim = {"opacity": "0.35"}
    with solara.Column(style=dim if run != run_number.value else {}, classes=["estimate"]):
        Heading(page.t["glance"])
        solara.HTML(tag="div", unsafe_innerHTML=tables.glance)
    drawn = charted.value
    follow = drawn is None or drawn[0] != run_number.value
    solara.Text(t["charts_follow"] if follow else "", classes=["charts-follow"] if follow else [])
    with solara.Column(style=dim if follow else {}, classes=["charts"]):
        if drawn is not None:
            ChartsShown(drawn[1])
    with solara.Column(style=dim if run != run_number.value else {}, classes=["estimate"]):
        Heading(page.t["children_title"])
        solara.Text(page.fill("children_lead"), style={"font-size": "13px"})
        solara.HTML(tag="div", unsafe_innerHTML=tables.children)


@solara.component
def ChartsShown(current: Estimate) -> None:
    """The briefing's charts of an estimate, built once per estimate and language."""
    charts = solara.use_memo(lambda: _charts(current, lang.value), dependencies=[id(current), lang.value])
    page = charts.page
    for title, panels, columns in (
        (page.t["placements_title"], charts.placements, (6, 6)),  # two a row: four cut the years' labels
        (page.t["cost_title"], charts.cost, (12, 6)),
    ):
        Heading(title)
        with solara.ColumnsResponsive(columns[0], large=columns[1]):
            for panel in panels:
                with solara.Column(classes=["chart"]):
                    solara.Text(panel.caption, style={"font-weight": "600"})
                    solara.FigurePlotly(panel.figure)
    Heading(page.t["cumulative_title"])
    with solara.Column(classes=["chart"]):
        solara.FigurePlotly(charts.cumulative)


@solara.component
def Save(t: dict[str, Any], districts: dict[str, Path], programmes: dict[str, Path], base: Scenario) -> None:
    file_name, set_file_name = solara.use_state("my_plan")
    source, set_source = solara.use_state(default_source())
    message, set_message = solara.use_state("")
    error, set_error = solara.use_state("")
    saved, set_saved = solara.use_state(None)
    briefing_wanted, set_briefing_wanted = solara.use_state(0)

    def save() -> None:
        set_message("")
        set_error("")
        if not changes.value:
            set_error(t["nothing_changed"])
            return
        folder = scenarios_folder()
        district = districts[district_name.value]
        parents = [district, *([programmes[programme_name.value]] if programme_name.value else [])]
        extends = list(dict.fromkeys(os.path.relpath(p.resolve(), folder.resolve()) for p in parents))
        try:
            planned = plan(base, changes.value)
            name = file_name.strip().removesuffix(".toml")
            description = "A plan set in prevsim app."
            text = scenario_toml(name, extends, description, planned, list(changes.value), source, "de")
            path = save_scenario(folder, file_name, text)
        except ScenarioError as err:
            set_error("\n".join(err.problems))
            return
        set_saved(path)
        set_message(t["saved"].format(path=path))

    def write() -> str:
        if not briefing_wanted or saved is None:
            return ""
        results = Path(os.environ.get(RESULTS_ENV, "results"))
        files = [districts[district_name.value], saved]
        future = engine().pool.submit(briefing_for, files, replicates.value, 1, lang.value, results)
        return t["briefing_written"].format(path=future.result())

    briefing = solara.use_thread(write, dependencies=[briefing_wanted])
    with solara.Card(t["save"]):
        solara.InputText(t["file_name"], value=file_name, on_value=set_file_name, classes=["file-name"])
        solara.InputText(t["source_note"], value=source, on_value=set_source)
        solara.Button(t["save_scenario"], on_click=save, classes=["save-scenario"], color="primary")
        if error:
            solara.Error(error, classes=["save-error"])
        if message:
            solara.Success(message, classes=["save-message"])
        if saved is not None:
            solara.Button(t["write_briefing"], on_click=lambda: set_briefing_wanted(briefing_wanted + 1))
            if briefing.state == solara.ResultState.RUNNING:
                solara.ProgressLinear(True)
            elif briefing.error is not None:
                solara.Error(str(briefing.error))
            elif briefing.value:
                solara.Success(briefing.value)


def _selection() -> tuple[list[Choice], list[Choice], dict[str, Path], dict[str, Path]]:
    """The scenario files to choose from (districts, programmes; as lists and by name), the chosen district and
    programme made valid: the defaults if none is chosen yet or the chosen file is gone."""
    district_choices, programme_choices = choices(scenarios_folder())
    districts = {c.name: c.path for c in district_choices}
    programmes = {c.name: c.path for c in programme_choices}
    if district_name.value not in districts and districts:
        district_name.set(_defaults(district_choices, programme_choices)[0].name)
    if programme_name.value not in (*programmes, NONE):
        programme_name.set(NONE)
    return district_choices, programme_choices, districts, programmes


@solara.component
def Page() -> None:
    t = words(lang.value)["app"]
    district_choices, programme_choices, districts, programmes = _selection()
    shown = {c.name: c.shown(lang.value) for c in [*district_choices, *programme_choices]} | {NONE: t["no_programme"]}

    key = (district_name.value, programme_name.value, tuple(other_names.value), replicates.value)
    base = scenario_of(districts[district_name.value], programmes.get(programme_name.value))

    def work(cancel: threading.Event) -> None:
        started = time.perf_counter()
        try:
            scenarios = _scenarios(districts, programmes)
        except ScenarioError as err:
            problems.set(err.problems)
            return
        problems.set([])
        run = run_number.value + 1
        run_number.set(run)
        status.set(("waiting", {}))
        with closing(progressive(engine(), scenarios, replicates.value, stop=cancel)) as estimates:
            first = True
            for current in estimates:
                seconds = f"{time.perf_counter() - started:.1f}"
                words_key = "full_result" if current.final else ("first_estimate" if first else "refining")
                status.set((words_key, {"done": current.done, "total": current.replicates, "seconds": seconds}))
                estimate.set((run, current))  # its tables are drawn (in this thread) and sent
                charted.set((run, current))  # then its charts
                first = False

    # not intrusive: Solara would trace every line of the thread to cancel it, and the thread also draws the
    # page (10x slower under the trace); `progressive` looks at `cancel` instead
    solara.use_thread(work, dependencies=[*key, tuple(sorted(changes.value.items()))], intrusive_cancel=False)

    solara.Title(t["title"])
    with solara.AppBar():
        solara.Text(t["title"])
        solara.ToggleButtonsSingle(
            value=lang.value,
            values=["de", "en"],
            on_value=lang.set,
            classes=["language"],
            style={"margin-left": "24px"},
        )
        with solara.Link(LIVE_PATH):
            solara.Button(t["live"], text=True, classes=["live-link"], style={"margin-left": "12px"})
    with solara.Sidebar():
        solara.Select(
            t["district"],
            values=list(districts),
            value=district_name.value,
            on_value=district_name.set,
            dense=True,
        )
        solara.Select(
            t["programme"],
            values=[NONE, *programmes],
            value=programme_name.value,
            on_value=lambda name: (changes.set({}), programme_name.set(name)),
            dense=True,
        )
        solara.Text(", ".join(f"{name}: {shown[name]}" for name in [district_name.value, programme_name.value] if name))
        solara.SelectMultiple(
            t["others"],
            other_names.value,
            [n for n in programmes if n != programme_name.value],
            on_value=other_names.set,
            dense=True,
        )
        solara.SliderInt(t["replicates"], value=replicates.value, min=4, max=100, step=4, on_value=replicates.set)
        Heading(t["levers"])
        for lever in levers(base, lang.value):
            LeverInput(lever, t, base.simulation.start_year)
    with solara.Column():
        for problem in problems.value:
            solara.Error(problem, classes=["problem"])
        Results(t)
        Save(t, districts, programmes, base)


# --- the live view: one run of the plan, month by month (Mesa's SolaraViz) ----------------------------------------


@solara.component
def Live() -> None:
    """The plan of the page (district, programme, changed numbers) in one run from January of its start year:
    the past until then comes from a worker (or the snapshots the comparisons made), the months are stepped here
    (a few milliseconds each)."""
    t = words(lang.value)["app"]
    _, _, districts, programmes = _selection()
    inputs = [district_name.value, programme_name.value, tuple(sorted(changes.value.items()))]
    seed = replicate_seeds(1, 1)[0]  # the first replicate of the comparisons: its past is ready soonest

    def planned() -> Scenario | list[str]:
        try:
            return _scenarios(districts, programmes)[1]
        except ScenarioError as err:
            return err.problems

    scenario = solara.use_memo(planned, dependencies=inputs)
    past = solara.use_thread(
        lambda: start_of_horizon(engine(), scenario, seed) if isinstance(scenario, Scenario) else None,
        dependencies=inputs,
    )
    with solara.AppBar(), solara.Link("/"):
        solara.Button(t["back"], text=True, classes=["back-link"])
    if not isinstance(scenario, Scenario):
        for problem in scenario:
            solara.Error(problem, classes=["problem"])
    elif past.state == solara.ResultState.FINISHED and past.value is not None:
        LiveRun(scenario, seed, past.value, t)
    elif past.error is not None:
        solara.Error(str(past.error))
    else:
        solara.Text(t["live_loading"].format(year=scenario.simulation.start_year))
        solara.ProgressLinear(True)


class LiveModel(DistrictModel):
    """A DistrictModel continued from a past, with the named arguments only: Mesa's SolaraViz checks a model's
    signature and takes a `**key_paths` for a required argument (it knows only the name `**kwargs`)."""

    def __init__(self, scenario: Scenario, seed: int, past: Snapshot) -> None:
        super().__init__(scenario, seed, past=past)


@solara.component
def LiveRun(scenario: Scenario, seed: int, past: Snapshot, t: dict[str, Any]) -> None:
    """Mesa's SolaraViz on a DistrictModel continued from `past`: families by risk level, helps running, the
    waiting list (the model's datacollector figures, `Recorder.figures`), labelled in the page's language."""
    model = solara.use_memo(lambda: LiveModel(scenario, seed, past), dependencies=[scenario, past])
    w = words(lang.value)
    helps = model.catalogue.help_names

    def labelled(title: str, names: dict[str, str]) -> Any:
        def post_process(ax: Any) -> None:
            handles, measures = ax.get_legend_handles_labels()
            ax.legend(handles, [names[m] for m in measures], loc="upper left", fontsize="small")
            ax.set_title(title)

        return post_process

    levels = {f"families.level_{k}": w["level"].format(level=k) for k in range(5)}
    running = {f"stock.{h}": w["services"].get(h, h) for h in helps}
    components = [
        make_plot_component(list(levels), post_process=labelled(t["risk_levels"], levels)),
        make_plot_component(list(running), post_process=labelled(t["helps_running"], running)),
        make_plot_component(["state.waiting"], post_process=labelled(t["waiting_list"], {"state.waiting": ""})),
    ]
    SolaraViz(
        model,
        components=components,
        model_params={"scenario": scenario, "seed": seed, "past": past},
        name=t["live_title"].format(year=scenario.simulation.start_year),
    )


@solara.component
def Layout(children: list[Any]) -> None:
    """Solara's app layout without its English route tabs: each page links to the other in its language."""
    solara.AppLayout(children=children, navigation=False)


routes = [solara.Route(path="/", component=Page, layout=Layout), solara.Route(path=LIVE_PATH, component=Live)]
