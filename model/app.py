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
from contextlib import closing
from pathlib import Path
from typing import Any

import solara
from markupsafe import Markup, escape

from model.labels import words
from model.report import Page as BriefingPage
from model.report import cost_chart, cumulative_chart, placements_chart
from model.scenario import Scenario, ScenarioError, load_scenario
from model.workbench import (
    Engine,
    Estimate,
    Lever,
    briefing_for,
    choices,
    default_source,
    levers,
    on_district,
    plan,
    progressive,
    save_scenario,
    scenario_toml,
)

SCENARIOS_ENV = "PREVSIM_APP_SCENARIOS"  # the folder of scenario files; set by `prevsim app`
WORKERS_ENV = "PREVSIM_APP_WORKERS"
RESULTS_ENV = "PREVSIM_APP_RESULTS"
DEFAULT_PROGRAMME = "osterode_prevention"
NONE = ""  # no programme: the plan is the district with the changed numbers

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
    """Serve the page until Ctrl-C (uvicorn with Solara's Starlette app)."""
    import uvicorn
    from solara.server.starlette import app as starlette_app

    uvicorn.run(starlette_app, host=host, port=port, log_level="warning")


def scenarios_folder() -> Path:
    return Path(os.environ.get(SCENARIOS_ENV, "scenarios"))


lang = solara.reactive("de")
district_name = solara.reactive("")
programme_name = solara.reactive(DEFAULT_PROGRAMME)
other_names = solara.reactive([])
replicates = solara.reactive(20)
changes: solara.Reactive[dict[str, float]] = solara.reactive({})
estimate: solara.Reactive[Estimate | None] = solara.reactive(None)
status = solara.reactive("")
problems: solara.Reactive[list[str]] = solara.reactive([])


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


@solara.component
def Heading(text: str) -> None:
    """A heading as plain HTML (solara.Markdown would load KaTeX, which solara-assets lacks)."""
    solara.HTML(tag="h3", unsafe_innerHTML=str(escape(text)))


@solara.component
def LeverInput(lever: Lever, t: dict[str, Any]) -> None:
    current = changes.value.get(lever.key, lever.value)

    def set_value(value: float | None) -> None:
        if value is None:
            return
        updated = {k: v for k, v in changes.value.items() if k != lever.key}
        if value != lever.value:
            updated[lever.key] = float(value)
        changes.set(updated)

    with solara.Column(gap="0px", classes=["lever"], style={"margin-bottom": "10px"}):
        if lever.slider:
            solara.SliderFloat(
                f"{lever.label}: {_fmt(current)} {lever.unit}",
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
            note = f"{t['changed']} ({_fmt(lever.value)} → {_fmt(current)}). " + note
        solara.Text(note, style={"font-size": "12px", "color": "#555"}, classes=["lever-source"])


def _scenarios(districts: dict[str, Path], programmes: dict[str, Path]) -> list[Scenario]:
    """Reference, the plan, then the other programmes (all on the chosen district)."""
    district = districts[district_name.value]
    reference = load_scenario(district)
    base = on_district(programmes[programme_name.value], district) if programme_name.value else reference
    others = [on_district(programmes[name], district) for name in other_names.value if name in programmes]
    return [reference, plan(base, changes.value), *others]


def _glance_html(page: BriefingPage) -> str:
    """The briefing's "at a glance" table (Page.glance: the same figures and words)."""
    r = page.results
    head = "".join(f"<th>{escape(page.title_of(n))}</th>" for n in r.alternatives)
    rows = []
    for row in page.glance():
        cells = "".join(
            f"<td><div class='main'>{c['main']}</div><div class='detail'>{c['detail']}</div></td>" for c in row["cells"]
        )
        rows.append(f"<tr><th scope='row'>{escape(row['label'])}</th>{cells}</tr>")
    return str(
        Markup(
            "<table class='glance'><thead><tr><th></th>{}</tr></thead><tbody>{}</tbody></table>"
            "<style>.glance td,.glance th{{padding:4px 10px;text-align:left;vertical-align:top;"
            "border-bottom:1px solid #ddd}} .glance .main{{font-size:18px;font-weight:600}} "
            ".glance .detail{{font-size:12px;color:#555}}</style>"
        ).format(Markup(head), Markup("".join(rows)))
    )


@solara.component
def Results(t: dict[str, Any]) -> None:
    current = estimate.value
    solara.Text(status.value, classes=["status"])
    if current is not None and not current.final:
        solara.ProgressLinear(100 * current.done / current.replicates)
    elif current is None:
        solara.ProgressLinear(True)
    if current is None:
        return
    page = BriefingPage(current.results, lang.value)
    Heading(page.t["glance"])
    solara.HTML(tag="div", unsafe_innerHTML=_glance_html(page), classes=["glance-box"])
    Heading(page.t["placements_title"])
    with solara.ColumnsResponsive(6, large=3):
        for panel in placements_chart(page):
            with solara.Column(classes=["chart"]):
                solara.Text(panel.caption, style={"font-weight": "600"})
                solara.FigurePlotly(panel.figure)
    Heading(page.t["cost_title"])
    with solara.ColumnsResponsive(12, large=6):
        for panel in cost_chart(page):
            with solara.Column(classes=["chart"]):
                solara.Text(panel.caption, style={"font-weight": "600"})
                solara.FigurePlotly(panel.figure)
    Heading(page.t["cumulative_title"])
    with solara.Column(classes=["chart"]):
        solara.FigurePlotly(cumulative_chart(page))


@solara.component
def Save(t: dict[str, Any], districts: dict[str, Path], programmes: dict[str, Path]) -> None:
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
        text = scenario_toml(
            file_name.strip().removesuffix(".toml"), extends, "A plan set in prevsim app.", changes.value, source, "de"
        )
        try:
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


@solara.component
def Page() -> None:
    t = words(lang.value)["app"]
    district_choices, programme_choices = choices(scenarios_folder())
    districts = {c.name: c.path for c in district_choices}
    programmes = {c.name: c.path for c in programme_choices}
    if district_name.value not in districts and districts:
        district_name.set(next(iter(districts)))
    if programme_name.value not in (*programmes, NONE):
        programme_name.set(NONE)
    shown = {c.name: c.shown(lang.value) for c in [*district_choices, *programme_choices]} | {NONE: t["no_programme"]}

    key = (district_name.value, programme_name.value, tuple(other_names.value), replicates.value)
    base = solara.use_memo(
        lambda: (
            on_district(programmes[programme_name.value], districts[district_name.value])
            if programme_name.value
            else load_scenario(districts[district_name.value])
        ),
        dependencies=list(key[:2]),
    )

    def work() -> None:
        started = time.perf_counter()
        try:
            scenarios = _scenarios(districts, programmes)
        except ScenarioError as err:
            problems.set(err.problems)
            return
        problems.set([])
        estimate.set(None)
        status.set(t["waiting"])
        with closing(progressive(engine(), scenarios, replicates.value)) as estimates:
            first = True
            for current in estimates:
                seconds = f"{time.perf_counter() - started:.1f}"
                words_key = "full_result" if current.final else ("first_estimate" if first else "refining")
                status.set(t[words_key].format(done=current.done, total=current.replicates, seconds=seconds))
                estimate.set(current)
                first = False

    solara.use_thread(work, dependencies=[*key, tuple(sorted(changes.value.items())), lang.value])

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
            LeverInput(lever, t)
    with solara.Column():
        for problem in problems.value:
            solara.Error(problem, classes=["problem"])
        Results(t)
        Save(t, districts, programmes)
