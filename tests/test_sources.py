"""Numbers need sources: every scenario number has a unit in its key name and a traceable source."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from model import load_scenario
from model.calibration import reference
from model.scenario import unit_of

SCENARIOS = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))
KINDS = (
    "germany.toml",
    "calibrated",
    "assumption",
    "definition",
    "status quo",
    "seed ",
    "FLS ",
    "unused",
    "district file",
)
REFERENCE_KEY = re.compile(r"germany\.toml ([a-z_0-9]+)(?:\.([a-z_0-9]+))?")


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda p: p.name)
def parameters(request):
    return load_scenario(request.param).parameters()


def test_every_number_has_a_unit_in_its_name(parameters):
    missing = [key for key, _ in parameters if unit_of(key) is None]
    assert not missing, f"key names without a unit: {missing}"


def test_every_source_says_where_the_number_comes_from(parameters):
    vague = [
        (key, p.source) for key, p in parameters if not p.source.startswith(KINDS) and "germany.toml" not in p.source
    ]
    assert not vague, f"sources that are neither reference, calibration nor a reasoned assumption: {vague}"


def test_reference_citations_exist_and_direct_ones_match(parameters):
    ref = reference()
    for key, p in parameters:
        for section, name in REFERENCE_KEY.findall(p.source):
            assert section in ref, f"{key}: germany.toml has no section [{section}]"
            if name:
                assert name in ref[section], f"{key}: germany.toml [{section}] has no key {name}"
                if p.source == f"germany.toml {section}.{name}":  # cited as is: the value must be the figure
                    assert p.value == pytest.approx(ref[section][name]), key


def test_odd_parameter_table_is_current():
    """docs/ODD.md lists the baseline's numbers as they are; refresh with experiments/update_docs.py."""
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run([sys.executable, "experiments/update_docs.py", "--check"], cwd=root, check=False)
    assert completed.returncode == 0, "docs/ODD.md parameter table is stale: run python experiments/update_docs.py"
