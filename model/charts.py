"""Plotly charts of sensitivity-analysis results, written as self-contained offline HTML.

Every chart embeds plotly.js (no CDN, no MathJax), so a results folder opens on a machine without
internet, e.g. on a projector in a meeting room. Fonts are large (>= 14 pt), colours come from the
Okabe-Ito palette (safe for the common colour-vision deficiencies), and heat maps use ColorBrewer's
RdBu (diverging, red = negative, blue = positive) or Viridis (sequential).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.colors as pcolors
import plotly.graph_objects as go

from model.output import write_text

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
FONT_SIZE = 16
TITLE_SIZE = 22
# Low values red, high values blue (plotly.py's "RdBu" runs from dark red to dark blue).
DIVERGING_SCALE = pcolors.diverging.RdBu
SEQUENTIAL_SCALE = "Viridis"
HTML_CONFIG = {"displaylogo": False, "responsive": True}
# Horizontal legend above the plot, right-aligned: clear of the x-axis title and the left-aligned title.
TOP_LEGEND = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0, "xanchor": "right"}

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int | None = None) -> go.Figure:
    """The common look: white template, large fonts, Okabe-Ito colours, titled axes."""
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "font": {"size": TITLE_SIZE}, "x": 0.02, "xanchor": "left"},
        font={"size": FONT_SIZE},
        colorway=OKABE_ITO,
        legend={"font": {"size": FONT_SIZE}},
        hoverlabel={"font": {"size": FONT_SIZE}},
        margin={"l": 40, "r": 40, "t": 110, "b": 70},
    )
    if height is not None:
        fig.update_layout(height=height)
    fig.update_xaxes(
        title={"text": x_title, "font": {"size": FONT_SIZE + 2}}, tickfont={"size": FONT_SIZE}, automargin=True
    )
    fig.update_yaxes(
        title={"text": y_title, "font": {"size": FONT_SIZE + 2}}, tickfont={"size": FONT_SIZE}, automargin=True
    )
    return fig


def _label(name: str, units: Mapping[str, str] | None) -> str:
    """An axis label: the name, with its unit in parentheses where one is given."""
    unit = (units or {}).get(name)
    return f"{name} ({unit})" if unit else name


def _rows(indices: pd.DataFrame, outcome: str, columns: list[str]) -> pd.DataFrame:
    """The rows of one outcome; a clear error if the table lacks columns or the outcome."""
    missing = [c for c in ["outcome", "parameter", *columns] if c not in indices.columns]
    if missing:
        raise ValueError(f"indices lack the columns {missing}")
    rows = indices.loc[indices["outcome"] == outcome]
    if rows.empty:
        known = sorted(map(str, indices["outcome"].unique()))
        raise ValueError(f"no indices for outcome {outcome!r}; outcomes are {known}")
    return rows.reset_index(drop=True)


def _finite(values: pd.Series) -> list[float]:
    """Floats with missing values as 0 (for error-bar widths)."""
    return [float(v) if pd.notna(v) and math.isfinite(float(v)) else 0.0 for v in values]


def sobol_chart(indices: pd.DataFrame, outcome: str) -> go.Figure:
    """Grouped horizontal bars of first-order (S1) and total (ST) Sobol indices with 95 % intervals.

    Parameters are sorted by ST, largest at the top. The x axis runs from 0 (lower if an estimate
    or interval is negative, as happens with small samples) to max(1, max(ST + ST_conf)).
    """
    rows = _rows(indices, outcome, ["S1", "S1_conf", "ST", "ST_conf"])
    rows = rows.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    parameters = [str(p) for p in rows["parameter"]]
    s1_conf, st_conf = _finite(rows["S1_conf"]), _finite(rows["ST_conf"])
    fig = go.Figure()
    for name, values, conf, colour in (
        ("first order (S1)", rows["S1"], s1_conf, OKABE_ITO[0]),
        ("total (ST)", rows["ST"], st_conf, OKABE_ITO[1]),
    ):
        fig.add_trace(
            go.Bar(
                name=name,
                y=parameters,
                x=[float(v) for v in values],
                orientation="h",
                marker_color=colour,
                error_x={"type": "data", "array": conf, "visible": True, "thickness": 2, "width": 6},
                customdata=conf,
                hovertemplate="%{y}: %{x:.3f} ± %{customdata:.3f}<extra>" + name + "</extra>",
            )
        )
    upper_values = (rows["ST"] + pd.Series(st_conf)).to_numpy(dtype=float)
    upper = max(1.0, float(np.nanmax(upper_values)) if len(upper_values) else 1.0)
    lows = np.concatenate(
        [(rows["S1"] - pd.Series(s1_conf)).to_numpy(float), (rows["ST"] - pd.Series(st_conf)).to_numpy(float)]
    )
    lower = min(0.0, float(np.nanmin(lows)) if len(lows) else 0.0)
    fig.update_layout(barmode="group", bargap=0.25, legend=TOP_LEGEND)
    _layout(fig, f"Sobol indices: {outcome}", "Sobol index", "parameter", height=max(420, 150 + 60 * len(parameters)))
    fig.update_xaxes(range=[lower, upper], zeroline=True, zerolinecolor="#000000")
    # Category order: first row at the top.
    fig.update_yaxes(categoryorder="array", categoryarray=parameters, autorange="reversed")
    return fig


def _label_positions(x: list[float], y: list[float]) -> list[str]:
    """Text positions that alternate above and below among points close in x, so labels overlap less."""
    order = sorted(range(len(x)), key=lambda i: (x[i], y[i]))
    positions = [""] * len(x)
    for rank, i in enumerate(order):
        positions[i] = "top right" if rank % 2 == 0 else "bottom right"
    return positions


def morris_chart(indices: pd.DataFrame, outcome: str) -> go.Figure:
    """Morris screening: mu* (with 95 % interval) against sigma, one labelled point per parameter.

    The dashed line sigma = mu* marks where the spread of elementary effects (nonlinearity,
    interactions) equals the mean absolute effect; points above it act mostly through those.
    """
    rows = _rows(indices, outcome, ["mu_star", "mu_star_conf", "sigma"])
    mu_star = [float(v) for v in rows["mu_star"]]
    sigma = [float(v) for v in rows["sigma"]]
    conf = _finite(rows["mu_star_conf"])
    parameters = [str(p) for p in rows["parameter"]]
    fig = go.Figure()
    reach = [m + c for m, c in zip(mu_star, conf, strict=True)] + sigma
    top = max([v for v in reach if math.isfinite(v)], default=1.0)
    top = top * 1.1 if top > 0 else 1.0
    fig.add_trace(
        go.Scatter(
            name="sigma = mu*",
            x=[0.0, top],
            y=[0.0, top],
            mode="lines",
            line={"dash": "dash", "color": "#000000", "width": 2},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="parameter",
            x=mu_star,
            y=sigma,
            mode="markers+text",
            text=parameters,
            textposition=_label_positions(mu_star, sigma),
            textfont={"size": FONT_SIZE},
            cliponaxis=False,
            marker={"size": 12, "color": OKABE_ITO[0], "line": {"width": 1, "color": "#000000"}},
            error_x={"type": "data", "array": conf, "visible": True, "thickness": 2, "width": 5},
            hovertemplate="%{text}<br>mu* = %{x:.3g}<br>sigma = %{y:.3g}<extra></extra>",
        )
    )
    _layout(
        fig,
        f"Morris screening: {outcome}",
        "mu* (mean absolute elementary effect)",
        "sigma (spread of elementary effects)",
        height=600,
    )
    # Room on the right for the labels of the rightmost points.
    fig.update_layout(showlegend=True, legend=TOP_LEGEND, margin={"r": 160})
    fig.update_xaxes(range=[0, top], rangemode="tozero")
    fig.update_yaxes(range=[0, top], rangemode="tozero")
    return fig


def _sorted_levels(values: pd.Series) -> list:
    """The distinct values in sorted order (as strings where types are mixed)."""
    distinct = list(pd.unique(values.dropna()))
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=str)


def sweep_heatmap(
    table: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    title: str | None = None,
    *,
    units: Mapping[str, str] | None = None,
) -> go.Figure:
    """Heat map of `value` over the levels of `x` and `y`, averaging rows that share an (x, y) cell.

    Levels are categories in sorted order; each cell shows its value. The colour scale is diverging and
    centred on 0 (red negative, blue positive) if the values have both signs, else sequential (Viridis).
    `units` optionally maps column names to units for the axis and colour-bar titles.
    """
    missing = [c for c in (x, y, value) if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}")
    means = table.groupby([y, x], dropna=True)[value].mean()
    x_levels, y_levels = _sorted_levels(table[x]), _sorted_levels(table[y])
    grid = means.unstack(x).reindex(index=y_levels, columns=x_levels)
    z = [[None if pd.isna(v) else float(v) for v in row] for row in grid.to_numpy(dtype=float)]
    finite = grid.to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    heat: dict = {
        "x": [str(v) for v in x_levels],
        "y": [str(v) for v in y_levels],
        "z": z,
        "texttemplate": "%{z:.3g}",
        "textfont": {"size": FONT_SIZE},
        "hovertemplate": f"{x} = %{{x}}<br>{y} = %{{y}}<br>{value} = %{{z:.4g}}<extra></extra>",
        "colorbar": {"title": {"text": _label(value, units), "side": "right"}, "tickfont": {"size": FONT_SIZE}},
        "xgap": 1,
        "ygap": 1,
    }
    if lo < 0 < hi:
        bound = max(abs(lo), abs(hi))
        heat.update(colorscale=DIVERGING_SCALE, zmid=0.0, zmin=-bound, zmax=bound)
    else:
        heat.update(colorscale=SEQUENTIAL_SCALE)
    fig = go.Figure(go.Heatmap(**heat))
    _layout(fig, title or f"{value} by {x} and {y}", _label(x, units), _label(y, units), height=600)
    fig.update_xaxes(type="category", showgrid=False)
    fig.update_yaxes(type="category", showgrid=False)
    return fig


def _line_chart(table: pd.DataFrame, x: str, value: str, units: Mapping[str, str] | None) -> go.Figure:
    """Mean of `value` over the levels of one lever (rows sharing a level are averaged)."""
    means = table.groupby(x, dropna=True)[value].mean()
    means = means.reindex(_sorted_levels(table[x]))
    fig = go.Figure(
        go.Scatter(
            x=list(means.index),
            y=[float(v) for v in means.to_numpy()],
            mode="lines+markers",
            name=value,
            line={"color": OKABE_ITO[0], "width": 3},
            marker={"size": 10},
            hovertemplate=f"{x} = %{{x}}<br>{value} = %{{y:.4g}}<extra></extra>",
        )
    )
    return _layout(fig, f"{value} by {x}", _label(x, units), _label(value, units), height=550)


def _histogram(table: pd.DataFrame, value: str, units: Mapping[str, str] | None) -> go.Figure:
    """Distribution of `value` over the design points, with a dashed line at the mean."""
    values = pd.to_numeric(table[value], errors="coerce").dropna()
    fig = go.Figure(
        go.Histogram(
            x=values.to_numpy(dtype=float),
            name=value,
            marker={"color": OKABE_ITO[0], "line": {"width": 1, "color": "#FFFFFF"}},
            hovertemplate="%{x}: %{y} design points<extra></extra>",
        )
    )
    if len(values):
        mean = float(values.mean())
        fig.add_vline(
            x=mean,
            line={"dash": "dash", "color": OKABE_ITO[3], "width": 3},
            annotation={"text": f"mean {mean:.4g}", "font": {"size": FONT_SIZE}},
        )
    fig.update_layout(showlegend=False, bargap=0.05)
    return _layout(fig, f"Distribution: {value}", _label(value, units), "design points (count)", height=550)


def write_html(fig: go.Figure, path: Path) -> Path:
    """Write `fig` as a self-contained HTML page (plotly.js embedded, no MathJax, no CDN); return `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = fig.to_html(full_html=True, include_plotlyjs=True, include_mathjax=False, config=HTML_CONFIG)
    return write_text(path, html)


def safe_name(name: str) -> str:
    """A file-name part with every character other than [A-Za-z0-9_.-] replaced by '_'."""
    return _UNSAFE.sub("_", str(name))


def write_charts(
    folder: Path,
    kind: str,
    indices: pd.DataFrame | None,
    design_outcomes: pd.DataFrame | None,
    levers: list[str],
    outcomes: list[str],
    *,
    units: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the charts that suit an experiment of `kind` into `folder`; return the written paths.

    "sobol"/"fast": sobol-<outcome>.html; "morris": morris-<outcome>.html (both from `indices`);
    "grid": sweep-<outcome>.html, a heat map over the first two levers (a line chart for one lever);
    anything else ("monte_carlo", "latin", ...): distribution-<outcome>.html, a histogram.
    """
    folder = Path(folder)
    kind = kind.lower()
    paths: list[Path] = []
    if kind in ("sobol", "fast", "morris"):
        if indices is None:
            raise ValueError(f"a {kind} experiment needs its indices table")
        chart, prefix = (morris_chart, "morris") if kind == "morris" else (sobol_chart, "sobol")
        for outcome in outcomes:
            paths.append(write_html(chart(indices, outcome), folder / f"{prefix}-{safe_name(outcome)}.html"))
        return paths
    if design_outcomes is None:
        raise ValueError(f"a {kind} experiment needs its design outcomes table")
    for outcome in outcomes:
        if kind == "grid" and len(levers) >= 2:
            fig = sweep_heatmap(design_outcomes, levers[0], levers[1], outcome, units=units)
            name = f"sweep-{safe_name(outcome)}.html"
        elif kind == "grid" and len(levers) == 1:
            fig = _line_chart(design_outcomes, levers[0], outcome, units)
            name = f"sweep-{safe_name(outcome)}.html"
        else:
            fig = _histogram(design_outcomes, outcome, units)
            name = f"distribution-{safe_name(outcome)}.html"
        paths.append(write_html(fig, folder / name))
    return paths
