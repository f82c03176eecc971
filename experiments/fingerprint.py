"""Fingerprint of the engine's results: a hash of the recorded values of four small runs.

python experiments/fingerprint.py        (with the test extras installed: it reuses the tests' `shrink`)

A change meant only to make the engine faster must leave the hash as it was (docs/performance.md
states the current one); a change of the rules changes it.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model import DistrictModel, load_scenario  # noqa: E402
from tests.conftest import shrink  # noqa: E402


def fingerprint() -> str:
    """SHA-256 of the monthly records of baseline and Osterode prevention, seeds 1 and 2, shrunk districts."""
    digest = hashlib.sha256()
    for name in ("baseline", "osterode_prevention"):
        scenario = shrink(load_scenario(ROOT / "scenarios" / f"{name}.toml"), 20_000, 3, 5)
        for seed in (1, 2):
            digest.update(DistrictModel(scenario, seed).run().values.tobytes())
    return digest.hexdigest()


if __name__ == "__main__":
    print(fingerprint())
