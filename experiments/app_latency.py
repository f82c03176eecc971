"""The workbench's change -> first estimate by the server's clock, without a browser, and where the seconds go.

Drives model/workbench.py and model/app.py as a page does: the baseline district against the Osterode plan
(100,000 inhabitants), workers warmed up as `prevsim app` does at start, the page's first comparison, then a
number of changes of the Familienhebamme budget. Per change: the scenarios built from their files, the workers'
runs of the first estimate (and their hand-off), the main process's summary (comparison written and read back),
the briefing's tables and charts (model/app.py `_shown`) and, with --render, Solara's rendering of the results
(`Figures`, widgets built as the server builds them, without a browser to send them to; it builds the charts
again, so `first` then counts the rendering instead of `charts`).

python experiments/app_latency.py [--changes 5] [--workers 2] [--replicates 8] [--render]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from model import workbench
from model.scenario import load_scenario
from model.workbench import Engine, on_district, plan, progressive, warm_up

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--render", action="store_true", help="also render the results with Solara")
    parser.add_argument("--profile", action="store_true", help="pyinstrument's profile of the main process's part")
    args = parser.parse_args()
    from model import app

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
            reference = load_scenario(district)
            base = on_district(programme, district)
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
            drawing = time.perf_counter()
            shown = app._shown(first, change + 1, "de")
            drawn = time.perf_counter() - drawing
            rendered = 0.0
            if args.render:
                import solara

                rendering = time.perf_counter()
                _box, rc = solara.render(app.Figures(first, change + 1), handle_error=False)
                rendered = time.perf_counter() - rendering
                rc.close()
            total = time.perf_counter() - changed
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
                "charts": drawn,
                "render": rendered,
                "first": total - (drawn if args.render else 0.0),  # rendering builds the charts itself
                "full": full,
                "load": os.getloadavg()[0],
            }
            rows.append(row)
            print(
                " ".join(f"{k} {v:.2f}" for k, v in row.items()),
                f"({first.done} replicates, {len(shown.cost)} cost panels)",
            )
        print(
            f"median of {len(rows)}: " + " ".join(f"{k} {statistics.median(r[k] for r in rows):.2f}" for k in rows[0])
        )
    finally:
        workbench._results = results
        engine.close()


if __name__ == "__main__":
    main()
