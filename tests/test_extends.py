"""`extends`: one parent or several; later files override earlier ones; shared ancestors do not undo changes."""

from __future__ import annotations

import shutil
from pathlib import Path

from model import load_scenario

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
