"""The docs for their readers: the README stays short, and every code name docs/ODD.md cites exists.

What counts as a code name is written at the top of docs/ODD.md: a name in backticks that looks like a
Python identifier or a dotted path of them (`rules.shock_hazard`, `DistrictModel.step`, `burden`), or a
file path with a folder (`model/rules.py`, which must exist in the repository). Anything else in backticks
(a formula, a stream name with a colon, a pattern with `*` or `<...>`, a bare file name such as an output's
`comparison.csv`) is text and is not checked.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import tomllib
from functools import cache
from pathlib import Path

import model
from model.scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT_BYTES = 12 * 1024  # issue 12: a README for users, at most 12 KB; long material lives in docs/

IDENTIFIER = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*(?:\(\))?")
FILE_NAME = re.compile(r"[\w./-]+\.(?:py|toml|md|csv|parquet|json|html|j2|png)|[\w.-]+/")  # checked with a folder
CODE_SPAN = re.compile(r"`([^`\n]+)`")


@cache
def modules() -> dict[str, object]:
    """Every module of the `model` package, by its short name; those of an optional extra that is not
    installed (`model.ema` needs the `ema` extra) are left out."""
    found = {}
    for info in pkgutil.iter_modules(model.__path__):
        try:
            found[info.name] = importlib.import_module(f"model.{info.name}")
        except ModuleNotFoundError as missing:
            if missing.name is None or missing.name.startswith("model"):
                raise
    return found


@cache
def assigned_to_self(cls: type) -> frozenset[str]:
    """The attributes a class's own methods assign (`self.month = ...`): they exist on every instance."""
    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):
        return frozenset()
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
    )


def has(owner: object, name: str) -> bool:
    """An attribute of a module or class, or one a class's methods assign to its instances."""
    return hasattr(owner, name) or (inspect.isclass(owner) and name in assigned_to_self(owner))


def attribute(owner: object, name: str) -> object:
    return getattr(owner, name, None)


@cache
def scenario_keys() -> tuple[set[str], dict]:
    """Every key name of the scenario schema (and of the baseline file), and the baseline as a nested dict."""
    schema = Scenario.model_json_schema()
    names = set(schema.get("properties", {}))
    for definition in schema.get("$defs", {}).values():
        names |= set(definition.get("properties", {}))
    baseline = tomllib.loads((ROOT / "scenarios" / "baseline.toml").read_text(encoding="utf-8"))

    def walk(table: dict) -> None:
        for key, value in table.items():
            names.add(key)
            if isinstance(value, dict):
                walk(value)

    walk(baseline)
    return names, baseline


def is_scenario_path(parts: list[str]) -> bool:
    """A key path of the baseline scenario (`burden.shock_hazard_per_month`), or one made of key names of the
    schema (a key a scenario may set that the baseline leaves out)."""
    names, table = scenario_keys()
    for part in parts:
        if not isinstance(table, dict) or part not in table:
            return all(part in names for part in parts)
        table = table[part]
    return True


def resolves(name: str) -> bool:
    """Whether a cited code name exists: a module of the package and its attributes, an attribute of some
    module (classes, functions, constants, the modules they import) and its attributes, a field of the
    families or of the rules, or a scenario key (path)."""
    parts = name.removesuffix("()").split(".")
    if parts[0] == "model":
        parts = parts[1:]
    if not parts:
        return True
    owners = [modules()[parts[0]]] if parts[0] in modules() else []
    owners += [attribute(m, parts[0]) for m in modules().values() if has(m, parts[0])]
    owners += [cls for cls in classes() if parts[0] in assigned_to_self(cls)]
    for owner in owners:
        for part in parts[1:]:
            if owner is None or not has(owner, part):
                owner = None
                break
            owner = attribute(owner, part)
        else:
            return True
    return is_scenario_path(parts) or (len(parts) == 1 and parts[0] in vocabulary())


@cache
def classes() -> tuple[type, ...]:
    """The classes defined in the package (whose instance attributes a name may cite)."""
    found = {
        value
        for m in modules().values()
        for value in vars(m).values()
        if inspect.isclass(value) and value.__module__.startswith("model.")
    }
    return tuple(found)


@cache
def vocabulary() -> frozenset[str]:
    """Names the code defines as data rather than attributes: the families' fields, the rules' fields, the
    accesses, roles, statistics categories, cost categories and risk factors, the random streams, and the
    names of the recorded metrics and yearly figures."""
    m = modules()
    return frozenset(
        [
            *m["families"].FIELDS,
            *m["parameters"].Rules._fields,
            *m["parameters"].ACCESSES,
            *m["parameters"].ROLES,
            *m["scenario"].STATISTICS,
            *m["scenario"].CATEGORIES,
            *m["scenario"].RISK_FACTORS,
            *m["simulation"].StreamKeys._fields,
            *m["recorder"].PER_HELP,
            *m["recorder"].PER_SERVICE,
            *m["recorder"].STATES,
            *m["recorder"].ASSESSMENT_OUTCOMES,
            *m["calibration"].AVERAGED_OVER_YEARS,
        ]
    )


def is_path(name: str) -> bool:
    return FILE_NAME.fullmatch(name) is not None and "/" in name


def cited(text: str) -> list[str]:
    """The code names and file paths in backticks, in the order they appear, each once."""
    names = [span.strip() for span in CODE_SPAN.findall(text)]
    return list(
        dict.fromkeys(n for n in names if is_path(n) or (IDENTIFIER.fullmatch(n) and not FILE_NAME.fullmatch(n)))
    )


def unknown(text: str) -> list[str]:
    """The cited names and paths that do not exist."""
    return [name for name in cited(text) if not ((ROOT / name).exists() if is_path(name) else resolves(name))]


def odd() -> str:
    return (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")


def test_every_code_name_the_odd_cites_exists():
    assert unknown(odd()) == []


def test_a_renamed_or_removed_name_is_noticed():
    text = odd()
    for name in ("rules.shock_hazard", "DistrictModel.step", "model/rules.py"):
        assert f"`{name}`" in text
    renamed = text.replace("`rules.shock_hazard`", "`rules.shock_hazard_x`").replace(
        "`DistrictModel.step`", "`DistrictModel.stepping`"
    )
    renamed = renamed.replace("`model/rules.py`", "`model/rule.py`") + "\n`shocks_and_reversion` `burden.shock`\n"
    assert sorted(unknown(renamed)) == sorted(
        ["rules.shock_hazard_x", "DistrictModel.stepping", "model/rule.py", "shocks_and_reversion", "burden.shock"]
    )


def test_the_odd_cites_every_rule():
    """Each rule function of model/rules.py is described in the ODD by its name."""
    rules = modules()["rules"]
    functions = [n for n, v in vars(rules).items() if getattr(v, "__module__", None) == rules.__name__]
    text = odd()
    assert [n for n in functions if f"`rules.{n}`" not in text and n != "rule"] == []


def test_readme_is_short():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT_BYTES, f"README.md is {size} bytes; move long material to docs/"
