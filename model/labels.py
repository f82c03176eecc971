"""Plain-language labels of parameters (data/labels.toml): what the briefing and the spreadsheets show instead
of key paths. helps.heimerziehung_34.cost_per_day_eur -> "Heimerziehung (§ 34): Tagessatz"."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LABELS = Path(__file__).parent / "data" / "labels.toml"
_INDEXED = re.compile(r"^(?P<key>.+)\[(?P<index>\d+)\]$")


@cache
def words(lang: str) -> dict[str, Any]:
    """labels.toml in one language (read once)."""
    return tomllib.loads(LABELS.read_text(encoding="utf-8"))[lang]


def label(key_path: str, lang: str) -> str | None:
    """The label of a parameter's key path (an index [i] of a by-level or by-age vector included: an age band of
    `age_bands`, or of `arrival_age_bands` for the arrivals' shares), or None when labels.toml lacks a part of it."""
    w = words(lang)
    path, index = key_path, None
    if match := _INDEXED.match(key_path):
        path, index = match["key"], int(match["index"])
    parts = path.split(".")
    if parts[-2:-1] == ["shock_hazard_ratio"]:  # district.risk_factors.shock_hazard_ratio.<risk factor>
        factor = w["risk_factors"].get(parts[-1])
        number = w["numbers"]["shock_hazard_ratio"]
        return f"{number}: {factor}" if factor else None
    number = w["numbers"].get(parts[-1])
    if number is None:
        return None
    if index is not None:
        bands = w["arrival_age_bands"] if parts[-1] == "arrival_age_share_by_band" else w["age_bands"]
        if parts[-1].endswith("_by_level"):
            number += f" ({w['level'].format(level=index + 1)})"
        elif parts[-1].endswith("_by_band") and index < len(bands):
            number += f" ({bands[index]})"
        else:
            return None
    if len(parts) >= 3 and parts[0] in ("helps", "prevention"):
        service = w["services"].get(parts[1])
        return f"{service}: {number}" if service else None
    section = w["sections"].get(parts[0])
    return f"{section}: {number}" if section else number


def label_or_key(key_path: str, lang: str) -> str:
    """The label, or the key path itself for a parameter added to the model but not yet to labels.toml."""
    return label(key_path, lang) or key_path
