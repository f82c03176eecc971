"""Scenario discovery: under which conditions does a programme not pay? PRIM on an experiment's runs.

`prevsim discover FOLDER --outcome npv_eur_at_3_5pct --below 0` reads the design points of a finished (or
interrupted) `prevsim experiment` and the mean of the outcome over each point's replicates, marks the points
of interest (outcome below, or above, the threshold) and runs the Patient Rule Induction Method (Friedman &
Fisher 1999) in the EMA Workbench's implementation (`ema_workbench.analysis.prim`, binary mode, lenient
objective), as scenario discovery does (Bryant & Lempert 2010). PRIM peels thin slices (peel_alpha of the
points) off the box of all design points, each time the slice whose removal raises the share of points of
interest in the box most, until the box holds mass_min of the points; then pastes back what helps. Of that
peeling trajectory the box with the highest coverage among those with at least the wanted density is chosen
(the densest of equal coverage);
its points are set aside and the next box is sought.

- coverage: the share of all points of interest that lie in the box (how much of the problem it explains);
- density: the share of the box's points that are of interest (how sure the box is);
- quasi-p value of a restriction: a one-sided binomial test of whether the restriction matters (< 0.05).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from model.charts import OKABE_ITO, _layout, safe_name, write_html
from model.experiment import collect_runs, point_means
from model.output import write_atomically
from model.run import new_results_folder, write_manifest
from model.scenario import ScenarioError

DENSITY = 0.8  # the least density of a box reported (EMA Workbench tutorials' threshold; Bryant & Lempert 2010)
PEEL_ALPHA = 0.05  # share of the box's points peeled off per step (EMA Workbench default, Friedman & Fisher 1999)
PASTE_ALPHA = 0.05
MASS_MIN = 0.05  # the smallest box: 5 % of the design points (EMA Workbench default)
MAX_BOXES = 3
# The workbench's binary PRIM counts y >= threshold as of interest and keeps a box only if its density reaches the
# threshold (else it returns a box of all points, its trajectory lost). Just above 0 it counts exactly the points
# of interest and keeps every box with its trajectory; the density wanted is then checked here.
KEEP_EVERY_BOX = 1e-9
QUASI_P = 0.05  # a restriction with quasi-p values all at or above this is dropped (Bryant & Lempert 2010)


@dataclass
class Discovery:
    """The boxes PRIM found: one row per (box, restricted parameter), and every box's peeling trajectory."""

    outcome: str
    condition: str  # e.g. "npv_eur_at_3_5pct < 0"
    points: int
    of_interest: int
    boxes: pd.DataFrame
    peeling: pd.DataFrame
    notes: list[str] = field(default_factory=list)


class ExperimentPoints(NamedTuple):
    points: pd.DataFrame  # one row per design point: the parameters, then each outcome's mean over replicates
    parameters: list[str]
    outcomes: list[str]
    ranges: dict[str, tuple[float, float]]  # each parameter's range as drawn
    relative: frozenset[str]  # parameters drawn as factors on the scenario's number


def read_points(folder: Path) -> ExperimentPoints:
    """An experiment folder's design points with the mean outcomes over their replicates; a ScenarioError (one
    line) if the folder is no experiment's or holds no runs yet."""
    if not folder.is_dir():
        raise ScenarioError([f"{folder}: not a folder; give the results folder of prevsim experiment"])
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ScenarioError(
            [f"{manifest_path}: not readable ({err}): not a results folder of prevsim experiment"]
        ) from None
    if manifest.get("kind") != "experiment":
        raise ScenarioError(
            [
                f"{manifest_path}: kind: {manifest.get('kind')!r}: not an experiment; give the folder of prevsim "
                "experiment"
            ]
        )
    spec = manifest["experiment"]
    if not (folder / "design.csv").is_file() or not any((folder / "runs").glob("part-*.parquet")):
        raise ScenarioError([f"{folder}: no runs yet (runs/part-*.parquet): run or --resume prevsim experiment first"])
    design = pd.read_csv(folder / "design.csv", index_col="point")
    outcomes = list(spec["outcomes"])
    points = design.join(point_means(collect_runs(folder), outcomes), how="inner")
    factors = spec["levers"] if spec["design"]["method"] == "grid" else spec["uncertainties"]
    ranges = {
        f["path"]: (min(f["values"]), max(f["values"])) if "values" in f else (f["low"], f["high"]) for f in factors
    }
    relative = frozenset(f["path"] for f in factors if f.get("relative"))
    return ExperimentPoints(points, list(design.columns), outcomes, ranges, relative)


def check_request(
    points: pd.DataFrame, outcomes: list[str], outcome: str | None, below: float | None, above: float | None
) -> tuple[str, float, bool]:
    """(outcome, threshold, below?) if the request can be answered; else a ScenarioError naming what is allowed."""
    if outcome not in outcomes:
        given = "missing" if outcome is None else f"{outcome!r}: not an outcome of this experiment"
        raise ScenarioError([f"--outcome: {given}; allowed: {', '.join(outcomes)}"])
    if (below is None) == (above is None):
        raise ScenarioError(["--below X or --above X: give exactly one (the points of interest lie below or above X)"])
    threshold = below if below is not None else above
    values = points[outcome].dropna()
    low, high = float(values.min()), float(values.max())
    if not low < threshold < high:
        side = "--below" if below is not None else "--above"
        raise ScenarioError(
            [
                f"{side} {threshold:g}: outside the range of {outcome} over the {len(values)} design points "
                f"({low:.6g} to {high:.6g}): every point or none would be of interest; give a value in between"
            ]
        )
    return outcome, float(threshold), below is not None


def discover(
    points: pd.DataFrame,
    parameters: list[str],
    outcome: str,
    threshold: float,
    below: bool = True,
    ranges: dict[str, tuple[float, float]] | None = None,
    relative: frozenset[str] = frozenset(),
    density: float = DENSITY,
    max_boxes: int = MAX_BOXES,
    peel_alpha: float = PEEL_ALPHA,
    mass_min: float = MASS_MIN,
    all_restrictions: bool = False,
) -> Discovery:
    """PRIM boxes of the points whose `outcome` lies below (or above) `threshold` (see the module docstring);
    `ranges`: each parameter's range as drawn (default: of the points), `relative`: parameters drawn as factors;
    `all_restrictions`: keep restrictions whose quasi-p values are all at least QUASI_P (else they are dropped)."""
    with warnings.catch_warnings():  # the workbench warns about optional parallel back ends it does not need here
        warnings.simplefilter("ignore", UserWarning)
        from ema_workbench.analysis import prim
        from ema_workbench.analysis import scenario_discovery_util as sdutil

    notes = []
    valid = points[outcome].notna()
    if not valid.all():
        notes.append(f"{int((~valid).sum())} design points without a value of {outcome}: left out")
    x = points.loc[valid, parameters].astype(float).reset_index(drop=True)
    y = points.loc[valid, outcome].to_numpy()
    interest = y < threshold if below else y > threshold
    finder = prim.Prim(
        x, interest, threshold=KEEP_EVERY_BOX, peel_alpha=peel_alpha, paste_alpha=PASTE_ALPHA, mass_min=mass_min
    )
    ranges = ranges or {}
    boxes, peeling = [], []
    for number in range(1, max_boxes + 1):
        box = finder.find_box()
        if box is None or box.peeling_trajectory["k"].max() == 0:  # no point of interest left
            break
        peeled = len(box.peeling_trajectory)
        dense = box.peeling_trajectory[box.peeling_trajectory["density"] >= density]
        if dense.empty:
            densest = box.peeling_trajectory.loc[box.peeling_trajectory["density"].idxmax()]
            notes.append(
                f"box {number}: no box reaches a density of {density:.0%} (the densest on the trajectory: "
                f"{densest['density']:.0%} at a coverage of {densest['coverage']:.0%}); none reported"
            )
            peeling.append(_trajectory(box, number, chosen=-1, peeled=peeled))
            break
        # the most coverage at the density wanted; of boxes that cover as much, the densest
        chosen = int(dense.sort_values(["coverage", "density"], ascending=False, kind="stable").index[0])
        box.select(chosen)
        if not all_restrictions:
            peeled_box, chosen = chosen, _drop_insignificant(box, chosen, density, sdutil)
            if chosen != peeled_box:
                before, after = (box.peeling_trajectory.loc[i] for i in (peeled_box, chosen))
                dropped = sorted(set(box.qp[peeled_box]) - set(box.qp[chosen]))
                notes.append(
                    f"box {number}: dropped {len(dropped)} restriction(s) with quasi-p >= {QUASI_P}, one at a time "
                    f"while the density stayed at least {density:.0%} ({', '.join(dropped)}): coverage "
                    f"{before['coverage']:.0%} -> {after['coverage']:.0%}, density {before['density']:.0%} -> "
                    f"{after['density']:.0%}; --all-restrictions keeps them"
                )
        peeling.append(_trajectory(box, number, chosen, peeled))
        stats = box.peeling_trajectory.loc[chosen]
        limits = box.box_lims[chosen]
        for name in sdutil._determine_restricted_dims(limits, finder.box_init):
            full_low, full_high = ranges.get(name, (float(x[name].min()), float(x[name].max())))
            qp_low, qp_high = (np.nan if q < 0 else q for q in box.qp[chosen][name])
            cut_low, cut_high = (limits.loc[i, name] != finder.box_init.loc[i, name] for i in (0, 1))
            boxes.append(
                {
                    "box": number,
                    "parameter": name,
                    "relative": name in relative,
                    "restricted": "both" if cut_low and cut_high else "lower" if cut_low else "upper",
                    # an unrestricted side reaches the end of the range drawn, not only the outermost point
                    "lower": float(limits.loc[0, name]) if cut_low else full_low,
                    "upper": float(limits.loc[1, name]) if cut_high else full_high,
                    "range_low": full_low,
                    "range_high": full_high,
                    "quasi_p_lower": qp_low,
                    "quasi_p_upper": qp_high,
                    "coverage": float(stats["coverage"]),
                    "density": float(stats["density"]),
                    "mass": float(stats["mass"]),
                    "points_in_box": int(stats["n"]),
                    "points_of_interest_in_box": int(stats["k"]),
                }
            )
    columns = ["box", "step", "coverage", "density", "mass", "res_dim", "n", "k", "chosen", "restrictions_dropped"]
    peeling_table = pd.concat(peeling, ignore_index=True)[columns] if peeling else pd.DataFrame(columns=columns)
    peeling_table = peeling_table.rename(
        columns={"res_dim": "restricted_parameters", "n": "points_in_box", "k": "points_of_interest_in_box"}
    )
    condition = f"{outcome} {'<' if below else '>'} {threshold:g}"
    box_table = pd.DataFrame(boxes).assign(outcome=outcome, condition=condition) if boxes else pd.DataFrame()
    return Discovery(outcome, condition, len(x), int(interest.sum()), box_table, peeling_table, notes)


def _trajectory(box: Any, number: int, chosen: int, peeled: int) -> pd.DataFrame:
    """A box's peeling trajectory for peeling.csv: the chosen step marked, steps after the peeling (a box with
    its insignificant restrictions dropped) marked as such."""
    steps = box.peeling_trajectory.drop(columns=["id", "mean"]).assign(box=number, step=box.peeling_trajectory.index)
    return steps.assign(chosen=steps["step"] == chosen, restrictions_dropped=steps["step"] >= peeled)


def _drop_insignificant(box: Any, chosen: int, density: float, sdutil: Any) -> int:
    """Drop the chosen box's weakest restriction (the highest quasi-p, all its sides at least QUASI_P: chance
    could have produced it, peeling overfits) while the box keeps the density wanted; one at a time, as each
    drop changes the others' quasi-p. Each simpler box is appended to the trajectory; the last one's step is
    returned."""
    step = chosen
    while len(box.qp[step]) > 1:
        weakest = {name: min(q for q in qp if q >= 0) for name, qp in box.qp[step].items()}
        name = max(weakest, key=weakest.get)
        if weakest[name] < QUASI_P:
            break
        limits = box.box_lims[step].copy()
        limits.loc[:, name] = box.box_lims[0].loc[:, name]
        inside = box.prim.yi_remaining[sdutil._in_box(box.prim.x.loc[box.prim.yi_remaining, :], limits)]
        if box.prim.determine_coi(inside) < density * len(inside):
            break
        box.update(limits, inside)
        step = len(box.peeling_trajectory) - 1
    return step


def discovery_chart(d: Discovery) -> go.Figure:
    """Per box: its peeling trajectory (coverage against density, the chosen box ringed) and the ranges of its
    restricted parameters as shares of their full range."""
    numbers = sorted(d.boxes["box"].unique()) if len(d.boxes) else []
    rows = max(1, len(numbers))
    titles = [t for n in numbers for t in (f"box {n}: peeling trajectory", f"box {n}: restricted parameters")]
    fig = make_subplots(rows=rows, cols=2, subplot_titles=titles or None, horizontal_spacing=0.25)
    for row, number in enumerate(numbers, start=1):
        steps = d.peeling[d.peeling["box"] == number]
        fig.add_trace(
            go.Scatter(
                x=steps["coverage"],
                y=steps["density"],
                mode="markers",
                marker={"size": 9, "color": steps["restricted_parameters"], "colorscale": "Viridis"},
                text=[
                    f"step {s}: {r} restricted"
                    for s, r in zip(steps["step"], steps["restricted_parameters"], strict=True)
                ],
                hovertemplate="%{text}<br>coverage %{x:.2f}, density %{y:.2f}<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        chosen = steps[steps["chosen"]]
        fig.add_trace(
            go.Scatter(
                x=chosen["coverage"],
                y=chosen["density"],
                mode="markers",
                marker={"size": 18, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": OKABE_ITO[3]}},
                name="chosen box",
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        fig.update_xaxes(title_text="coverage", range=[0, 1.05], row=row, col=1)
        fig.update_yaxes(title_text="density", range=[0, 1.05], row=row, col=1)
        limits = d.boxes[d.boxes["box"] == number]
        span = (limits["range_high"] - limits["range_low"]).replace(0, np.nan)
        low = (limits["lower"] - limits["range_low"]) / span
        high = (limits["upper"] - limits["range_low"]) / span
        fig.add_trace(
            go.Bar(
                y=limits["parameter"],
                x=high - low,
                base=low,
                orientation="h",
                marker={"color": OKABE_ITO[0]},
                text=[f"{a:.4g} to {b:.4g}" for a, b in zip(limits["lower"], limits["upper"], strict=True)],
                textposition="inside",
                hovertemplate="%{y}: %{text}<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=2,
        )
        fig.update_xaxes(title_text="share of the parameter's range", range=[0, 1], row=row, col=2)
    title = f"Where {d.condition}: {d.of_interest} of {d.points} design points (PRIM)"
    return _layout(fig, title, "", "", height=120 + 380 * rows)


def write_discovery(folder: Path, d: Discovery, settings: dict[str, Any]) -> Path:
    """A new folder inside the experiment folder (never overwriting) with discovery.csv, peeling.csv,
    discovery.html and a manifest."""
    side = "below" if "<" in d.condition else "above"
    out = new_results_folder(folder, safe_name(f"discovery-{d.outcome}-{side}-{d.condition.split()[-1]}"))
    write_atomically(out / "discovery.csv", lambda path: d.boxes.to_csv(path, index=False))
    write_atomically(out / "peeling.csv", lambda path: d.peeling.to_csv(path, index=False))
    write_html(discovery_chart(d), out / "discovery.html")
    write_manifest(
        out,
        {
            "kind": "discovery",
            "experiment_folder": folder.name,
            "condition": d.condition,
            "design_points": d.points,
            "points_of_interest": d.of_interest,
            "method": "PRIM, EMA Workbench (ema_workbench.analysis.prim), binary mode, lenient objective",
            **settings,
            "notes": d.notes,
        },
    )
    return out
