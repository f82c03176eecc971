"""The committee briefing: drawn in a real browser (online and offline), key figures equal comparison.csv,
one language per page, clear errors for folders that are not a finished comparison."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from model import browser, load_scenario
from model.cli import EXIT_BAD_INPUT, app
from model.comparison import compare
from model.experiment import Uncertainty
from model.report import BRIEFING_FILES, most_uncertain, read_comparison, texts, write_briefing
from tests.conftest import BASELINE, ROOT, assert_clean_failure, chromium, shrink

UNCERTAINTIES = f"""
name = "two_uncertainties"
description = "test: two assumptions for the one-at-a-time analysis"
scenarios = ["{BASELINE.as_posix()}"]
outcomes = ["cost_eur_total"]
[design]
method = "monte_carlo"
samples = 2
[[uncertainties]]
path = "helps.heimerziehung_34.cost_per_day_eur"
relative = true
low = 0.8
high = 1.25
source = "test"
[[uncertainties]]
path = "detection.report_hazard_per_month_by_level[3]"
low = 0.09
high = 0.16
source = "test"
"""


@pytest.fixture(scope="module")
def comparison_folder(tmp_path_factory) -> Path:
    scenarios = [
        shrink(load_scenario(ROOT / "scenarios" / f"{name}.toml"), 10_000, 2, 4)
        for name in ("baseline", "osterode_prevention", "austerity")
    ]
    folder = compare(scenarios, replicates=3, seed=4, workers=2).write(tmp_path_factory.mktemp("results"))
    uncertainties = folder.parent / "uncertainties.toml"
    uncertainties.write_text(UNCERTAINTIES, encoding="utf-8")
    for lang in BRIEFING_FILES:
        write_briefing(folder, lang, uncertainties_file=uncertainties, oat_replicates=1, workers=2)
    return folder


# --- in a real browser -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize("lang", list(BRIEFING_FILES))
def test_briefing_draws_every_chart_in_chromium(comparison_folder, tmp_path, lang, offline):
    with chromium(offline=offline) as driver:
        driver.get((comparison_folder / BRIEFING_FILES[lang]).as_uri())
        # four placement panels, a cost panel and a tornado per alternative, the cumulative saving
        assert len(browser.wait_for_charts(driver)) == 4 + 2 * 2 + 1
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        assert browser.sent_requests(driver) == []
        assert driver.save_screenshot(str(tmp_path / f"briefing-{lang}.png"))
        assert (tmp_path / f"briefing-{lang}.png").stat().st_size > 50_000


@pytest.mark.parametrize("lang", list(BRIEFING_FILES))
def test_briefing_fits_a_phone_and_shows_every_headline_on_the_first_desktop_screen(comparison_folder, lang):
    for width, height in ((390, 844), (1280, 800)):
        with chromium(width=width, height=height) as driver:
            browser.show(driver, (comparison_folder / BRIEFING_FILES[lang]).as_uri())
            layout = browser.overflowing(driver)
            assert layout["document"] <= layout["window"] <= width, layout  # the window less a scroll bar
            assert layout["elements"] == [], layout
            if width == 1280:  # the summary's figures, each programme's, without scrolling
                bottoms = driver.execute_script(
                    "return [...document.querySelectorAll('.card .kf')].map(e => e.getBoundingClientRect().bottom)"
                )
                assert len(bottoms) >= 2 * 5 and max(bottoms) <= height, bottoms


@pytest.mark.parametrize("lang", list(BRIEFING_FILES))
def test_the_first_printed_page_holds_the_summary_and_no_printing_hint(comparison_folder, lang):
    with chromium(width=794, height=1123) as driver:  # A4 at 96 dpi
        browser.show(driver, (comparison_folder / BRIEFING_FILES[lang]).as_uri(), paper=True)
        bottom = driver.execute_script("return document.querySelector('.cards').getBoundingClientRect().bottom")
        assert bottom <= 1123 - 2 * 53  # within the page's 14 mm margins
        text = driver.find_element("tag name", "body").text
        assert "Zum Drucken" not in text and "For printing" not in text
        assert browser.overflowing(driver)["elements"] == []


# --- the numbers and words on the page -------------------------------------------------------------------------

_SPAN = re.compile(
    r'<span class="kf" data-scenario="([^"]+)" data-year="([^"]+)" data-figure="([^"]+)" data-statistic="([^"]+)" '
    r'data-scale="([^"]+)" data-digits="(\d+)">([^<]+)</span>'
)


def _parse(text: str, lang: str) -> float:
    """A number as the page shows it: 1.234,5 (de) or 1,234.5 (en); a trailing % is dropped."""
    text = text.replace("\u00a0%", "").replace("\u2212", "-")
    if lang == "de":
        text = text.replace(".", "").replace(",", ".")
    return float(text.replace(",", ""))


@pytest.mark.parametrize("lang", list(BRIEFING_FILES))
def test_every_key_figure_equals_comparison_csv(comparison_folder, lang):
    page = (comparison_folder / BRIEFING_FILES[lang]).read_text(encoding="utf-8")
    table = pd.read_csv(comparison_folder / "comparison.csv", dtype={"year": str})
    table = table.set_index(["scenario", "year", "figure"])
    found = _SPAN.findall(page)
    figures = {f for _, _, f, *_ in found}
    # placements in year 10 (here the last year), net saving, NPV, break-even year and share, BCR, chance it pays
    assert {"begun_heimerziehung_34", "net_saving_eur", "npv_eur_at_3_5pct", "break_even_year"} <= figures
    assert {"break_even_share", "benefit_cost_ratio", "savings_exceed_spending"} <= figures
    for scenario, year, figure, statistic, scale, digits, text in found:
        expected = table.loc[(scenario, year, figure), statistic] * float(scale)
        assert _parse(html.unescape(text), lang) == pytest.approx(round(expected, int(digits)), abs=1e-9), (
            scenario,
            figure,
            statistic,
        )
    # a scenario that spends less (austerity) has no payback figures: "n/a", never a misleading 100 %
    assert not [f for s, _, f, *_ in found if s == "austerity" and f in ("savings_exceed_spending", "break_even_year")]
    # a balance is shown as a saving or as an extra cost, a ratio never below zero: no large negative number
    for _, _, figure, statistic, _, _, text in found:
        if statistic == "mean" and figure in ("net_saving_eur", "npv_eur_at_3_5pct", "benefit_cost_ratio"):
            assert _parse(html.unescape(text), lang) >= 0, (figure, text)


def _labels(lang: str) -> list[str]:
    """The fixed fragments (12+ characters) of every text of one language in briefing.toml."""
    words = texts(lang)
    labels = [v for k, v in words.items() if isinstance(v, str) and k not in ("locale", "html_lang")]
    labels += [*words.get("methods", []), *words.get("units", {}).values()]
    return [part.strip() for text in labels for part in re.split(r"\{[^}]*\}", text) if len(part.strip()) >= 12]


@pytest.mark.parametrize(("lang", "other"), [("de", "en"), ("en", "de")])
def test_a_page_holds_no_label_of_the_other_language(comparison_folder, lang, other):
    page = html.unescape((comparison_folder / BRIEFING_FILES[lang]).read_text(encoding="utf-8"))
    mine = set(_labels(lang))
    leaked = [label for label in _labels(other) if label not in mine and label in page]
    assert leaked == []
    if lang == "de":  # visible words outside the appendix of quoted sources
        visible = re.sub(r'<section id="sources">.*?</section>', "", page.split("</head>")[1], flags=re.S)
        visible = re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", visible, flags=re.S))
        english = r"\b(the|and|of|per|cost|placements|year|scenario|reference|help|spending|saving|share|rate)\b"
        assert not re.findall(english, visible)
        keys = {key for s in read_comparison(comparison_folder).scenarios for key, _ in s.parameters()}
        keys |= {line.split('"')[1] for line in UNCERTAINTIES.splitlines() if line.startswith("path")}
        assert [key for key in keys if key in visible] == []
        assert "helps.heimerziehung_34.cost_per_day_eur" in page  # in the appendix, as small print


def test_most_uncertain_takes_the_widest_relative_ranges():
    def u(low: float, high: float) -> Uncertainty:
        return Uncertainty(path=f"p{low}", low=low, high=high, source="test")

    chosen = most_uncertain([u(0.9, 1.1), u(12, 180), u(0.1, 0.4), u(0.5, 0.6), u(1, 2), u(2, 3), u(3, 4)], 3)
    assert [c.path for c in chosen] == ["p12", "p0.1", "p1"]


# --- bad folders --------------------------------------------------------------------------------------------------


def _report(*args: str):
    return CliRunner().invoke(app, ["report", *args])


def test_a_folder_that_is_not_a_finished_comparison_is_named(comparison_folder, tmp_path):
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    (run_folder / "manifest.json").write_text('{"kind": "run"}', encoding="utf-8")
    incomplete = tmp_path / "incomplete"
    shutil.copytree(comparison_folder, incomplete)
    (incomplete / "timeseries.parquet").unlink()
    for folder, expected in [
        (tmp_path / "nowhere", "not a folder"),
        (tmp_path, "no manifest.json: not a results folder of prevsim compare"),
        (run_folder, "kind: 'run': not a comparison"),
        (incomplete, "missing timeseries.parquet"),
        (comparison_folder, "exists; results are never overwritten"),
    ]:
        lines = assert_clean_failure(_report(str(folder)), EXIT_BAD_INPUT)
        assert any(expected in line for line in lines) and all(line.startswith(str(folder)) for line in lines)
    assert _report(str(comparison_folder), "--lang", "fr").exit_code == 2


def test_output_elsewhere_leaves_files_of_similar_names_alone(comparison_folder, tmp_path):
    notes = tmp_path / "notes.tmp"
    notes.write_text("my notes", encoding="utf-8")
    uncertainties = comparison_folder.parent / "uncertainties.toml"  # the fixture's one-at-a-time runs are cached
    args = ["--uncertainties", str(uncertainties), "--oat-replicates", "1", "--lang", "en"]
    result = _report(str(comparison_folder), *args, "--output", str(tmp_path / "notes.html"))
    assert result.exit_code == 0, result.output
    assert notes.read_text(encoding="utf-8") == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.html", "notes.tmp"]


def test_cli_writes_a_briefing_from_a_sensitivity_experiment(comparison_folder, tmp_path):
    experiment = tmp_path / "sobol"
    experiment.mkdir()
    manifest = {
        "kind": "experiment",
        "status": "complete",
        "experiment": {"name": "sobol_test", "design": {"method": "sobol"}},
        "scenarios": [{"name": "baseline"}, {"name": "osterode_prevention"}],
    }
    (experiment / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    pd.DataFrame(
        {
            "outcome": "npv_eur_at_3_5pct",
            "parameter": ["prevention.familienhebamme.protection_half_life_months", "helps.ise_35.cost_per_day_eur"],
            "S1": [0.1, 0.6],
            "S1_conf": [0.05, 0.05],
            "ST": [0.2, 0.7],
            "ST_conf": [0.05, 0.05],
        }
    ).to_csv(experiment / "indices.csv", index=False)
    target = tmp_path / "briefing.en.html"
    result = _report(str(comparison_folder), "--lang", "en", "--sensitivity", str(experiment), "--output", str(target))
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert "Global sensitivity analysis (Sobol, experiment sobol_test)" in page
    assert "Intensive individual support (\\u00a7 35): daily rate" in page  # the label (in plotly's JSON), no key
    wrong = tmp_path / "other"
    shutil.copytree(experiment, wrong)
    manifest["scenarios"] = [{"name": "neuss_ambulant"}]
    (wrong / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = _report(str(comparison_folder), "--sensitivity", str(wrong), "--output", str(tmp_path / "x.html"))
    assert result.exit_code == 2
    assert "must be among the comparison's" in result.output


def test_cumulative_net_saving_ends_at_the_horizon_net_saving_of_comparison_csv(comparison_folder):
    results = read_comparison(comparison_folder)
    cumulative = results.cumulative_net_saving()
    last = cumulative[cumulative["year"] == results.last_year].set_index("scenario")["mean"]
    for scenario in results.alternatives:
        expected = results.row(scenario, "horizon", "net_saving_eur")["mean"]
        assert last[scenario] == pytest.approx(expected, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("lang", list(BRIEFING_FILES))
def test_the_briefing_shows_what_children_gain_the_price_part_and_the_societal_perspective(comparison_folder, lang):
    page = html.unescape((comparison_folder / BRIEFING_FILES[lang]).read_text(encoding="utf-8"))
    t = texts(lang)
    assert t["children_title"] in page and t["kf_npv_societal"] in page and t["kf_bcr_societal"] in page
    figures = {f for _, _, f, *_ in _SPAN.findall(page)}
    assert {"cost_change_price_eur", "child_months_high_risk_without_help", "npv_eur_at_3_5pct_societal"} <= figures
