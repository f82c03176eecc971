"""Charts of experiment results: offline self-contained HTML, and figure data that match the input."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from model import charts
from model.charts import (
    OKABE_ITO,
    morris_chart,
    safe_name,
    sobol_chart,
    sweep_heatmap,
    write_charts,
    write_html,
)

SCRIPT_SRC = re.compile(r"<script[^>]+src=", re.IGNORECASE)


def assert_offline_html(path: Path) -> None:
    """The file exists, embeds plotly.js and loads no script from anywhere."""
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size > 1_000_000  # the plotly.js bundle is several MB
    assert "plotly.js" in text
    assert SCRIPT_SRC.search(text) is None  # nothing loaded from a CDN (plotly.js or MathJax)


def assert_readable(fig) -> None:
    """Projector-readable: base font >= 14 and a title."""
    assert fig.layout.font.size >= 14
    assert fig.layout.title.text


@pytest.fixture
def sobol_indices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["placements"] * 3 + ["cost"] * 3,
            "parameter": ["coverage", "uptake", "effect", "coverage", "uptake", "effect"],
            "S1": [0.10, 0.45, 0.20, 0.3, 0.3, 0.3],
            "S1_conf": [0.01, 0.02, 0.03, 0.1, 0.1, 0.1],
            "ST": [0.15, 0.70, 0.35, 0.4, 0.4, 0.4],
            "ST_conf": [0.04, 0.05, 0.06, 0.1, 0.1, 0.1],
        }
    )


@pytest.fixture
def morris_indices() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["placements"] * 3,
            "parameter": ["coverage", "uptake", "effect"],
            "mu": [0.5, -1.0, 2.0],
            "mu_star": [0.5, 1.2, 2.0],
            "mu_star_conf": [0.1, 0.2, 0.3],
            "sigma": [0.2, 1.5, 0.8],
        }
    )


@pytest.fixture
def sweep_table() -> pd.DataFrame:
    # Cell (coverage=0.2, uptake=0.5) has two rows (another lever varies): its mean is (1 + 3) / 2 = 2.
    return pd.DataFrame(
        {
            "coverage": [0.4, 0.2, 0.2, 0.2, 0.4],
            "uptake": [0.5, 0.5, 0.5, 0.9, 0.9],
            "other": [1, 1, 2, 1, 1],
            "placements": [-1.0, 1.0, 3.0, 5.0, 7.0],
            "cost": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )


def test_sobol_chart_sorted_by_total_with_confidence_bars(sobol_indices: pd.DataFrame, tmp_path: Path) -> None:
    fig = sobol_chart(sobol_indices, "placements")
    assert_readable(fig)
    assert fig.layout.title.text == "Sobol indices: placements"
    assert fig.layout.xaxis.title.text == "Sobol index"
    first, total = fig.data
    assert "first order" in first.name and "total" in total.name
    assert all(bar.orientation == "h" for bar in fig.data)
    assert list(total.y) == ["uptake", "effect", "coverage"]  # ST descending
    assert list(first.y) == list(total.y)
    assert list(total.x) == pytest.approx([0.70, 0.35, 0.15])
    assert list(first.x) == pytest.approx([0.45, 0.20, 0.10])
    assert list(total.error_x.array) == pytest.approx([0.05, 0.06, 0.04])
    assert list(first.error_x.array) == pytest.approx([0.02, 0.03, 0.01])
    # Largest at the top: the first category at the top of a reversed axis.
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(fig.layout.yaxis.categoryarray) == ["uptake", "effect", "coverage"]
    assert tuple(fig.layout.xaxis.range) == pytest.approx((0.0, 1.0))
    assert_offline_html(write_html(fig, tmp_path / "sobol.html"))


def test_sobol_axis_reaches_past_one_when_intervals_do() -> None:
    indices = pd.DataFrame(
        {"outcome": ["y"], "parameter": ["a"], "S1": [0.8], "S1_conf": [0.1], "ST": [0.95], "ST_conf": [0.2]}
    )
    assert sobol_chart(indices, "y").layout.xaxis.range[1] == pytest.approx(1.15)


def test_sobol_unknown_outcome_is_a_clear_error(sobol_indices: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="no indices for outcome"):
        sobol_chart(sobol_indices, "nothing")


def test_morris_chart_points_labels_and_reference_line(morris_indices: pd.DataFrame) -> None:
    fig = morris_chart(morris_indices, "placements")
    assert_readable(fig)
    assert fig.layout.title.text == "Morris screening: placements"
    assert fig.layout.xaxis.title.text == "mu* (mean absolute elementary effect)"
    assert fig.layout.yaxis.title.text == "sigma (spread of elementary effects)"
    line = next(t for t in fig.data if t.mode == "lines")
    points = next(t for t in fig.data if "markers" in t.mode)
    assert line.line.dash == "dash"
    assert list(line.x) == pytest.approx(list(line.y))  # sigma = mu*
    assert list(points.x) == pytest.approx([0.5, 1.2, 2.0])
    assert list(points.y) == pytest.approx([0.2, 1.5, 0.8])
    assert list(points.text) == ["coverage", "uptake", "effect"]
    assert list(points.error_x.array) == pytest.approx([0.1, 0.2, 0.3])
    assert "text" in points.mode
    # The reference line covers every point and interval.
    assert line.x[-1] >= max(2.0 + 0.3, 1.5)


def test_sweep_heatmap_averages_cells_in_sorted_order(sweep_table: pd.DataFrame, tmp_path: Path) -> None:
    fig = sweep_heatmap(sweep_table, "coverage", "uptake", "placements", title="Placements by lever")
    assert_readable(fig)
    assert fig.layout.title.text == "Placements by lever"
    (heat,) = fig.data
    assert list(heat.x) == ["0.2", "0.4"]
    assert list(heat.y) == ["0.5", "0.9"]
    # z[row = uptake][column = coverage]
    assert [list(row) for row in heat.z] == [[2.0, -1.0], [5.0, 7.0]]
    assert heat.texttemplate
    # Both signs: diverging, centred on 0, positive values blue.
    assert heat.zmid == 0
    assert heat.zmin == -heat.zmax
    top_colour = heat.colorscale[-1][1]
    red, _green, blue = (int(c) for c in re.findall(r"\d+", top_colour))
    assert blue > red
    assert fig.layout.xaxis.title.text == "coverage"
    assert fig.layout.yaxis.title.text == "uptake"
    assert_offline_html(write_html(fig, tmp_path / "sweep.html"))


def test_sweep_heatmap_one_sign_is_sequential_and_missing_cells_stay_empty(sweep_table: pd.DataFrame) -> None:
    table = sweep_table.iloc[1:]  # no row for (coverage=0.4, uptake=0.5)
    fig = sweep_heatmap(table, "coverage", "uptake", "cost", units={"cost": "EUR"})
    (heat,) = fig.data
    assert heat.zmid is None
    assert heat.colorscale == go.Heatmap(colorscale="Viridis").colorscale
    assert heat.z[0][0] == pytest.approx(25.0)
    assert heat.z[0][1] is None or math.isnan(heat.z[0][1])
    assert "EUR" in heat.colorbar.title.text


def test_write_charts_sobol_and_fast(sobol_indices: pd.DataFrame, tmp_path: Path) -> None:
    for kind in ("sobol", "fast"):
        folder = tmp_path / kind
        paths = write_charts(folder, kind, sobol_indices, None, ["coverage", "uptake"], ["placements", "cost"])
        assert [p.name for p in paths] == ["sobol-placements.html", "sobol-cost.html"]
        for path in paths:
            assert path.parent == folder
            assert_offline_html(path)


def test_write_charts_morris(morris_indices: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_charts(tmp_path, "morris", morris_indices, None, ["coverage"], ["placements"])
    assert [p.name for p in paths] == ["morris-placements.html"]
    assert_offline_html(paths[0])


def test_write_charts_grid_two_levers_one_lever_and_distribution(sweep_table: pd.DataFrame, tmp_path: Path) -> None:
    table = sweep_table.rename(columns={"placements": "placements per 1000/year"})
    two = write_charts(tmp_path / "two", "grid", None, table, ["coverage", "uptake"], ["placements per 1000/year"])
    assert [p.name for p in two] == ["sweep-placements_per_1000_year.html"]
    one = write_charts(tmp_path / "one", "grid", None, table, ["coverage"], ["cost"])
    assert [p.name for p in one] == ["sweep-cost.html"]
    mc = write_charts(tmp_path / "mc", "monte_carlo", None, table, ["coverage"], ["cost"])
    assert [p.name for p in mc] == ["distribution-cost.html"]
    for path in two + one + mc:
        assert_offline_html(path)


def test_one_lever_line_and_histogram_data(sweep_table: pd.DataFrame) -> None:
    line = charts._line_chart(sweep_table, "coverage", "cost", {"cost": "EUR"})
    assert list(line.data[0].x) == pytest.approx([0.2, 0.4])
    assert list(line.data[0].y) == pytest.approx([30.0, 30.0])  # (20 + 30 + 40) / 3 and (10 + 50) / 2
    assert line.layout.yaxis.title.text == "cost (EUR)"
    hist = charts._histogram(sweep_table, "cost", None)
    assert list(hist.data[0].x) == pytest.approx([10.0, 20.0, 30.0, 40.0, 50.0])
    assert hist.layout.title.text == "Distribution: cost"
    assert_readable(line)
    assert_readable(hist)


def test_write_charts_needs_its_table(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_charts(tmp_path, "sobol", None, None, [], ["y"])
    with pytest.raises(ValueError):
        write_charts(tmp_path, "grid", None, None, ["a", "b"], ["y"])


def test_safe_name_and_palette() -> None:
    assert safe_name("a b/c:d.e-f_g") == "a_b_c_d.e-f_g"
    assert OKABE_ITO[0] == "#0072B2"
