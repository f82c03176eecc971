"""`extends`: one parent or several; later files override earlier ones; shared ancestors do not undo changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from model import ScenarioError, load_scenario

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.toml"


def test_several_parents_combine_their_changes(tmp_path: Path) -> None:
    shutil.copy(BASELINE, tmp_path / "baseline.toml")
    (tmp_path / "a.toml").write_text(
        'name = "a"\nextends = "baseline.toml"\n[burden]\nreversion_per_month = { value = 0.05, source = "test" }\n'
    )
    (tmp_path / "b.toml").write_text(
        'name = "b"\nextends = "baseline.toml"\n[detection]\n'
        'network_referral_hazard_ratio = { value = 1.3, source = "test" }\n'
        '[burden]\nshock_mean_size_points = { value = 2.0, source = "test" }\n'
    )
    (tmp_path / "both.toml").write_text(
        'name = "both"\ndescription = "a and b"\nextends = ["a.toml", "b.toml"]\n'
        '[burden]\nshock_mean_size_points = { value = 2.5, source = "test" }\n'
    )
    both, base = load_scenario(tmp_path / "both.toml"), load_scenario(BASELINE)
    assert both.burden.reversion_per_month.value == 0.05  # from a, not undone by b's copy of the baseline
    assert both.detection.network_referral_hazard_ratio.value == 1.3  # from b
    assert both.burden.shock_mean_size_points.value == 2.5  # the file itself wins
    assert both.policy == base.policy


def test_a_title_names_its_own_file_only(tmp_path: Path) -> None:
    shutil.copy(BASELINE, tmp_path / "baseline.toml")
    (tmp_path / "untitled.toml").write_text('name = "untitled"\nextends = "baseline.toml"\n')
    (tmp_path / "titled.toml").write_text('name = "titled"\nextends = "untitled.toml"\ntitle = { en = "More help" }\n')
    assert load_scenario(BASELINE).title["de"] == "Basisszenario (Status quo)"
    assert load_scenario(tmp_path / "untitled.toml").title == {}  # never the baseline's title
    assert load_scenario(tmp_path / "titled.toml").title == {"en": "More help"}


def test_a_programme_applies_its_changes_to_any_district(tmp_path: Path, monkeypatch) -> None:
    """`compare DISTRICT --programme P`: the district's numbers stay, the programme's changes to its own parent
    come on top (not its parent's copy of the baseline), as a ratio where the district sets the number too; name
    and title are the programme's, the district's name is the briefing's."""
    from typer.testing import CliRunner

    from model.cli import app
    from model.scenario import programme_on

    programme = BASELINE.parent / "osterode_prevention.toml"
    for file in (BASELINE, programme):
        shutil.copy(file, tmp_path / file.name)
    (tmp_path / "district.toml").write_text(
        'name = "kreis"\ndescription = "a district"\nextends = "baseline.toml"\n'
        '[district]\nname = "Landkreis Test"\ninhabitants = { value = 20_000, source = "test" }\n'
        '[policy]\ndiagnosed_placement_ratio = { value = 0.9, source = "test" }\n'
        '[burden]\nshock_hazard_per_month = { value = 0.03, source = "test" }\n'
    )
    combined = programme_on(tmp_path / "district.toml", tmp_path / programme.name)
    alone = load_scenario(programme)
    assert combined.district.inhabitants.value == 20_000 and combined.district.name == "Landkreis Test"
    assert combined.burden.shock_hazard_per_month.value == 0.03  # the district's, not the baseline's
    ratio = 0.9 / load_scenario(BASELINE).policy.diagnosed_placement_ratio.value  # the district sets it too
    assert combined.policy.diagnosed_placement_ratio.value == pytest.approx(
        alone.policy.diagnosed_placement_ratio.value * ratio
    )
    changes = alone.policy.diagnosed_placement_ratio.by_year
    assert combined.policy.diagnosed_placement_ratio.by_year == pytest.approx(
        {y: v * ratio for y, v in changes.items()}
    )
    assert combined.prevention == alone.prevention and combined.name == alone.name and combined.title == alone.title
    with pytest.raises(ScenarioError, match="extends: missing: a programme names the scenario it changes"):
        programme_on(tmp_path / "district.toml", tmp_path / "baseline.toml")
    monkeypatch.chdir(tmp_path)
    args = ["compare", "district.toml", "--programme", programme.name, "--replicates", "1", "--workers", "1"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "osterode_prevention" in done.output
    assert "policy.diagnosed_placement_ratio: district.toml sets it too" in done.stderr
