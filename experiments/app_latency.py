"""The workbench's change -> first estimate by the server's clock, without a browser, and where the seconds go.

Drives model/workbench.py and model/app.py as a page does: the baseline district against the Osterode plan
(100,000 inhabitants), workers warmed up as `prevsim app` does at start, the page's first comparison, then a
number of changes of the Familienhebamme budget. Per change: the scenarios built from their files, the workers'
runs of the first estimate (and their hand-off), the main process's summary (comparison written and read back),
the briefing's tables (the first estimate shown) and then its charts, as model/app.py draws them: with --render
Solara's rendering (`Figures`, widgets built as the server builds them, without a browser to send them to).

python experiments/app_latency.py [--changes 5] [--workers 2] [--replicates 8] [--render]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from model import workbench
from model.labels import words
from model.scenario import load_scenario
from model.workbench import Engine, Estimate, on_district, plan, progressive, scenario_of, warm_up

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
LEVER = "prevention.familienhebamme.budget_eur_per_year"


def _timed(seconds: dict[str, float], name: str, fn):  # type: ignore[no-untyped-def]
    def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started

    return wrapped


def _draw(current: Estimate, run: int, render: bool) -> tuple[float, float]:
    """Seconds to draw the estimate's tables, then its charts, as the page does (model/app.py): with `render`,
    Solara's rendering of `Figures` and then of its charts (`charted`); else only the briefing's tables and
    figures built."""
    from model import app

    started = time.perf_counter()
    if render:
        import solara

        app.run_number.set(run)
        app.charted.set(None)
        _box, rc = solara.render(app.Figures(current, run, words("de")["app"]), handle_error=False)
        tables = time.perf_counter() - started
        app.charted.set((run, current))  # re-renders Figures with its charts, as the work thread asks
        rc.close()
    else:
        app._tables(current, run, "de")
        tables = time.perf_counter() - started
        app._charts(current, "de")
    return tables, time.perf_counter() - started - tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--render", action="store_true", help="also render the results with Solara")
    parser.add_argument("--profile", action="store_true", help="pyinstrument's profile of the main process's part")
    args = parser.parse_args()
    from model import app  # noqa: F401  (imports Solara: as the server does before its first page)

    district, programme = SCENARIOS / "baseline.toml", SCENARIOS / "osterode_prevention.toml"
    engine = Engine(args.workers)
    seconds: dict[str, float] = {}
    results = workbench._results
    workbench._results = _timed(seconds, "summary", results)
    try:
        started = time.perf_counter()
        warm_up(engine, load_scenario(district), on_district(programme, district))
        for _ in progressive(engine, [load_scenario(district), on_district(programme, district)], args.replicates):
            pass
        print(
            f"warm-up and the page's first comparison ({args.replicates} replicates): "
            f"{time.perf_counter() - started:.1f} s; load {os.getloadavg()[0]:.1f}"
        )
        rows = []
        for change in range(args.changes):
            seconds.clear()
            changed = time.perf_counter()
            reference = scenario_of(district)  # as the page: read again only when a file changed
            base = scenario_of(district, programme)
            scenarios = [reference, plan(base, {LEVER: 100_000.0 + 25_000.0 * change})]
            inputs = time.perf_counter() - changed
            profiler = None
            if args.profile and change == args.changes - 1:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.005)
                profiler.start()
            estimates = progressive(engine, scenarios, args.replicates)
            first = next(estimates)
            computed = time.perf_counter() - changed
            summary = seconds["summary"]
            run = change + 1
            tables, charts = _draw(first, run, args.render)
            shown_first = time.perf_counter() - changed - charts  # the tables drawn: the first estimate shown
            if profiler is not None:
                profiler.stop()
                print(profiler.output_text(unicode=False, show_all=False))
            for _ in estimates:  # the refinement, so that the next change starts on idle workers
                pass
            full = time.perf_counter() - changed
            row = {
                "inputs": inputs,
                "runs": computed - inputs - summary,
                "summary": summary,
                "tables": tables,
                "first": shown_first,
                "charts": charts,
                "full": full,
                "load": os.getloadavg()[0],
            }
            rows.append(row)
            print(" ".join(f"{k} {v:.2f}" for k, v in row.items()), f"(first estimate from {first.done} replicates)")
        print(
            f"median of {len(rows)}: " + " ".join(f"{k} {statistics.median(r[k] for r in rows):.2f}" for k in rows[0])
        )
    finally:
        workbench._results = results
        engine.close()


if __name__ == "__main__":
    main()
