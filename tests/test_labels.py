"""Every number of every scenario and experiment file has a plain German and English label."""

from __future__ import annotations

import tomllib

import pytest

from model import load_scenario
from model.labels import label
from tests.conftest import ROOT


def _key_paths() -> list[str]:
    keys = {key for file in (ROOT / "scenarios").glob("*.toml") for key, _ in load_scenario(file).parameters()}
    for file in (ROOT / "experiments").glob("*.toml"):
        keys |= {u["path"] for u in tomllib.loads(file.read_text(encoding="utf-8")).get("uncertainties", [])}
    return sorted(keys)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_parameter_has_a_label(lang):
    keys = _key_paths()
    assert len(keys) > 100
    assert [key for key in keys if label(key, lang) is None] == []


def test_labels_are_put_together_from_service_and_number():
    assert label("helps.heimerziehung_34.cost_per_day_eur", "de") == "Heimerziehung (§ 34): Tagessatz"
    assert (
        label("detection.report_hazard_per_month_by_level[3]", "en")
        == "reports to the youth office per month (level 4)"
    )
    assert label("prevention.familienhebamme.no_such_number", "de") is None


def test_arrival_age_shares_are_labelled_with_the_arrivals_age_bands():
    key = "unaccompanied_minors.arrival_age_share_by_band"
    assert label(f"{key}[0]", "en") == "Unaccompanied minors: share of arrivals by age (ages 10–13)"
    assert label(f"{key}[2]", "de").endswith("(16–17 Jahre)")
    assert label(f"{key}[3]", "de") is None  # three bands only
