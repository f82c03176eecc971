"""Scenario files: TOML with `extends`, units in key names, a source for every number.

A number is written as a small table so that its source cannot be forgotten::

    cost_per_day_eur = { value = 273.25, source = "germany.toml unit_costs_eur.heim_per_day_ring_median" }

and may change from a given year on (levers that are funded "from 2027")::

    budget_eur_per_year = { value = 60_000, by_year = { 2027 = 120_000 }, source = "..." }

`load_scenario` merges the `extends` chain, validates with pydantic and raises `ScenarioError`
with one line per problem (file, key path, value, what is allowed).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

AGE_BANDS_YEARS = (0, 6, 12, 18, 21)  # bands of `weight_by_age_band`: 0-5, 6-11, 12-17, 18-20
CATEGORIES = ("prevention", "ambulant", "semi_residential", "residential", "crisis")
STATISTICS = (  # the categories of the official statistics a help is counted in (Destatis HzE statistics, §42)
    "flexible_27_2",
    "erziehungsberatung_28",
    "soziale_gruppenarbeit_29",
    "erziehungsbeistand_30",
    "spfh_31",
    "tagesgruppe_32",
    "vollzeitpflege_33",
    "heimerziehung_34",
    "ise_35",
    "eingliederungshilfe_35a",
    "inobhutnahme_42",
)
RISK_FACTORS = ("sgb2_poverty", "single_parent", "parental_mental_illness", "young_parent", "special_needs")


class ScenarioError(Exception):
    """A scenario (or a chain of them) could not be read; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FIRST_YEAR, LAST_YEAR = 1990 - 60, 2100 + 60  # the years a simulation can reach (Simulation: start, burn-in, horizon)
Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]  # of a `by_year` change; one beyond a shortened run is fine


class Range(_Strict):
    """How uncertain a number is: its distribution between low and high, with the source of the range.

    `of = "value"` (default): the range of `value`; a draw moves `value` and every `by_year` entry by the same
    factor (a price level or an effect that holds throughout). `of = "change"`: the range of the last `by_year`
    entry (a programme's effect at full scale); `value`, the status quo before the change, stays, and each
    step of a ramp keeps its share of the change."""

    distribution: Literal["uniform", "triangular"]
    low: float
    high: float
    peak: float | None = None  # triangular: the most likely value
    of: Literal["value", "change"] = "value"
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if (self.distribution == "triangular") != (self.peak is not None):
            raise ValueError(
                f"peak ({self.peak}) is given for a triangular distribution and only for it"
                if self.peak is not None
                else "a triangular distribution needs peak (its most likely value)"
            )
        if self.peak is not None and not self.low <= self.peak <= self.high:
            raise ValueError(f"peak ({self.peak:g}) must lie within low..high ({self.low:g}..{self.high:g})")
        return self


def _in_force(value: Any, by_year: dict[int, Any], year: int) -> Any:
    """The latest `by_year` entry at or before `year`, else `value`."""
    current = value
    for from_year in sorted(by_year):
        if from_year <= year:
            current = by_year[from_year]
    return current


class _Param(_Strict):
    value: float
    source: str = Field(min_length=3)
    by_year: dict[Year, float] = {}
    uncertainty: Range | None = None

    @model_validator(mode="after")
    def _within_range(self) -> _Param:
        u = self.uncertainty
        if u is None:
            return self
        if u.of == "change" and (not self.by_year or self.at(LAST_YEAR) == self.value):
            raise ValueError("uncertainty.of = 'change' needs by_year entries that change the value")
        if u.of == "value" and self.by_year and self.value == 0:
            raise ValueError("uncertainty of a value 0 with by_year changes: no factor moves them; use of = 'change'")
        ranged, name = (self.at(LAST_YEAR), "the last by_year value") if u.of == "change" else (self.value, "value")
        if not u.low <= ranged <= u.high:
            raise ValueError(f"{name} ({ranged:g}) must lie within uncertainty low..high ({u.low:g}..{u.high:g})")
        for bound in (u.low, u.high):  # the extreme draws must stay numbers the field allows
            try:
                type(self).model_validate({"value": self.value, "source": self.source, "by_year": self.drawn(bound)})
            except ValidationError as err:
                raise ValueError(
                    f"uncertainty: with a draw of {bound:g} a by_year value leaves what the number allows "
                    f"({type(self).__doc__}): {err.errors()[0]['input']}"
                ) from None
        return self

    def drawn(self, number: float) -> dict[int, float]:
        """The `by_year` entries when the uncertain number is drawn as `number` (see `Range.of`)."""
        if self.uncertainty is None or self.uncertainty.of == "value":
            factor = number / self.value if self.value else 1.0
            return {year: v * factor for year, v in self.by_year.items()}
        full = self.at(LAST_YEAR)
        steps = {year: (v - self.value) / (full - self.value) for year, v in self.by_year.items()}  # shares of it
        return {year: number if s == 1 else self.value + s * (number - self.value) for year, s in steps.items()}

    def at(self, year: int) -> float:
        """The value in force in `year`: the latest `by_year` entry at or before it, else `value`."""
        return _in_force(self.value, self.by_year, year)


def _param(name: str, description: str, **bounds: float) -> type[_Param]:
    number = Annotated[float, Field(allow_inf_nan=False, **bounds)]
    ends = {"low": (number, ...), "high": (number, ...), "peak": (number | None, None)}
    bounded = create_model(f"{name}Range", __base__=Range, **ends)  # type: ignore[call-overload]
    bounded.__doc__ = Range.__doc__
    globals()[bounded.__name__] = bounded  # a module attribute, so that scenarios pickle (worker processes)
    model = create_model(
        name, __base__=_Param, value=(number, ...), by_year=(dict[Year, number], {}), uncertainty=(bounded | None, None)
    )
    model.__doc__ = description
    return model


Probability = _param("Probability", "a probability in [0, 1]", ge=0, le=1)
NonNegative = _param("NonNegative", "a number >= 0", ge=0)
Positive = _param("Positive", "a number > 0", gt=0)
# Limits that keep numbers meaningful and storable (assumptions, with the reason):
MAX_INHABITANTS = 100_000_000  # more than Germany (84.7 million, germany.toml): no district is larger
MAX_EUR = 1e12  # above any German public budget line; keeps every sum of costs finite and exact to the cent
MAX_DURATION_MONTHS = 240  # 20 years: longer than childhood; durations are stored as int16 months (max 32,767)
MAX_PREVENTION_SERVICES = 31  # the services a family received are bits of an int32 (the sign bit unused)
MAX_HELPS = 127  # a family's help is an int8 index (-1: none)
MAX_NAME_LENGTH = 64  # names become folder names: three of them and a timestamp fit a file name (255 bytes)
Inhabitants = _param("Inhabitants", f"persons, > 0 and at most {MAX_INHABITANTS:,}", gt=0, le=MAX_INHABITANTS)
Eur = _param("Eur", f"EUR, > 0 and at most {MAX_EUR:g}", gt=0, le=MAX_EUR)
EurOrZero = _param("EurOrZero", f"EUR, >= 0 and at most {MAX_EUR:g}", ge=0, le=MAX_EUR)
Months = _param("Months", f"months, > 0 and at most {MAX_DURATION_MONTHS}", gt=0, le=MAX_DURATION_MONTHS)
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$", max_length=MAX_NAME_LENGTH)]  # of a help or service
HazardRatio = _param("HazardRatio", "a hazard ratio > 0 (1: no effect)", gt=0)  # 1 where it does not apply


class _Vector(_Strict):
    """A few numbers that belong together (four by risk level 1-4 or by age band, three shares by age at arrival),
    with one source."""

    value: list[float]
    source: str = Field(min_length=3)
    by_year: dict[Year, list[float]] = {}  # all of them from a year on (an experiment's factor acting from a year)

    def at(self, year: int) -> list[float]:
        """The numbers in force in `year`: the latest `by_year` entry at or before it, else `value`."""
        return _in_force(self.value, self.by_year, year)


SHARES_SUM_TOLERANCE = 1e-6  # shares of a whole may be rounded: they must sum to 1 within this


def _sums_to_one(shares: list[float]) -> list[float]:
    if abs(sum(shares) - 1.0) > SHARES_SUM_TOLERANCE:
        raise ValueError(f"shares that sum to {sum(shares):.6g}: they must sum to 1 (within {SHARES_SUM_TOLERANCE:g})")
    return shares


def _vector(name: str, description: str, length: int = 4, shares: bool = False, **bounds: float) -> type[_Vector]:
    """A vector of `length` numbers within `bounds`; with `shares`, shares of a whole that sum to 1."""
    number = Annotated[float, Field(allow_inf_nan=False, **bounds)]
    numbers = Annotated[list[number], Field(min_length=length, max_length=length)]
    if shares:
        numbers = Annotated[numbers, AfterValidator(_sums_to_one)]
    model = create_model(name, __base__=_Vector, value=(numbers, ...), by_year=(dict[Year, numbers], {}))
    model.__doc__ = description
    return model


ProbabilityByLevel = _vector("ProbabilityByLevel", "4 probabilities for risk levels 1, 2, 3, 4", ge=0, le=1)
RatioByAgeBand = _vector("RatioByAgeBand", "4 numbers >= 0 for ages 0-5, 6-11, 12-17, 18-20", ge=0)
SharesByArrivalAge = _vector(
    "SharesByArrivalAge", "3 shares in [0, 1] for ages 10-13, 14-15, 16-17, summing to 1", 3, True, ge=0, le=1
)


class Simulation(_Strict):
    start_year: int = Field(ge=1990, le=2100)
    horizon_years: int = Field(default=20, ge=1, le=60)
    burn_in_years: int = Field(ge=0, le=60, description="years simulated before start_year, not reported")


class RiskFactors(_Strict):
    """Prevalence at birth and the factor's multiplier on the monthly burden-shock hazard; how single parenthood
    and transfer benefits (SGB II) begin and end during childhood (`rules.household_changes`,
    `rules.transfer_benefits_change`)."""

    single_parent_share: Probability  # at birth
    sgb2_poverty_share_if_single_parent: Probability  # at birth, and the share each household type keeps
    sgb2_poverty_share_if_couple: Probability
    separation_hazard_per_month: Probability  # parents of a child living together separate
    new_partner_hazard_per_month: Probability  # a single parent's new partner moves in
    sgb2_exit_hazard_per_month: Probability  # a family's transfer benefits end
    parental_mental_illness_share: Probability
    young_parent_share: Probability
    special_needs_share: Probability
    shock_hazard_ratio: dict[Literal[RISK_FACTORS], Positive]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _all_factors(self) -> RiskFactors:
        missing = sorted(set(RISK_FACTORS) - set(self.shock_hazard_ratio))
        if missing:
            raise ValueError(f"shock_hazard_ratio needs every risk factor; missing: {', '.join(missing)}")
        return self


class District(_Strict):
    name: str
    inhabitants: Inhabitants
    under_21_share: Probability
    minors_share: Probability
    risk_factors: RiskFactors

    @model_validator(mode="after")
    def _children(self) -> District:
        for year in sorted({-1, *self.inhabitants.by_year, *self.under_21_share.by_year, *self.minors_share.by_year}):
            when = "" if year == -1 else f" from {year}"
            minors, under_21 = self.minors_share.at(year), self.under_21_share.at(year)
            if minors > under_21:
                raise ValueError(f"minors_share{when} ({minors:g}) must not exceed under_21_share{when} ({under_21:g})")
            if self.inhabitants.at(year) * minors < 1:
                raise ValueError(
                    f"inhabitants x minors_share{when} = {self.inhabitants.at(year) * minors:.3g} children: "
                    "a district needs at least one family"
                )
        return self


class Burden(_Strict):
    """Latent burden in burden points; risk level = number of thresholds (1, 2, 3, 4 points) reached."""

    shock_hazard_per_month: Probability
    shock_mean_size_points: Positive
    reversion_per_month: Probability
    frailty_sd_log: NonNegative
    age_hazard_ratio_by_band: RatioByAgeBand
    shock_hazard_ratio_while_waiting: HazardRatio


class Detection(_Strict):
    report_hazard_per_month_by_level: ProbabilityByLevel
    self_referral_hazard_per_month_by_level: ProbabilityByLevel
    self_referral_hazard_ratio_transfer_benefits: HazardRatio
    self_referral_hazard_ratio_young_adults: HazardRatio
    in_help_escalation_detection_per_month: Probability
    acute_share_of_endangerment: Probability
    network_referral_hazard_ratio: Positive
    network_outreach_hazard_ratio: Positive


class YouthOffice(_Strict):
    caseworkers_fte: NonNegative
    help_plans_per_fte_per_month: NonNegative
    help_plan_completion_per_month: Probability


class Policy(_Strict):
    placement_probability_level_3: Probability
    placement_probability_level_4: Probability
    placement_probability_after_failed_help: Probability
    placement_after_crisis_probability: Probability
    transfer_probability_if_burdened: Probability
    continue_after_18_probability: Probability
    diagnostics_first_share: Probability
    diagnosed_placement_ratio: Positive


class UnaccompaniedMinors(_Strict):
    """Exogenous inflow: they do not come from resident families, so prevention never reaches them."""

    crisis_intakes_per_10k_under_21_per_year: NonNegative
    arrival_age_share_by_band: SharesByArrivalAge  # ages 10-13, 14-15, 16-17 (`rules.arrival_age_months`)
    residential_probability_after_crisis: Probability
    residential_help: str


class _Service(_Strict):
    label: str
    mean_duration_months: Months


class PreventionService(_Service):
    """A low-threshold service (Frühe Hilfen, §16 SGB VIII, KKG): reached by outreach, capacity bought by budget."""

    eligible_age_months: list[Annotated[int, Field(ge=0, le=252)]] = Field(min_length=2, max_length=2)
    cost_per_month_eur: Eur
    budget_eur_per_year: EurOrZero
    target_levels: list[Annotated[int, Field(ge=0, le=4)]] = Field(min_length=1)
    uptake_hazard_per_month: Probability
    shock_hazard_ratio_during: HazardRatio
    protection_after_share: Probability
    protection_half_life_months: Positive
    parenting_effect_share: Probability
    parenting_effect_onset_months: Positive
    referral_hazard_ratio_during: HazardRatio

    @model_validator(mode="after")
    def _age_range(self) -> PreventionService:
        youngest, oldest = self.eligible_age_months
        if youngest > oldest:
            raise ValueError(f"eligible_age_months = {self.eligible_age_months}: the first age exceeds the last")
        return self


class Help(_Service):
    """A help under SGB VIII (§27 ff., §41, §42): granted by the youth office, or self-accessed (§28)."""

    weight_by_age_band: RatioByAgeBand
    choice_weight_ratio_transfer_benefits: Positive  # the weight's factor for a family on transfer benefits
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    access: Literal["self_referral", "help_plan", "diagnostic", "placement", "crisis"]
    counts_as_hze: bool
    statistic: Literal[(*STATISTICS, "none")]  # type: ignore[valid-type]  # the category it is counted in
    cost_per_month_eur: Eur | None = None
    cost_per_day_eur: Eur | None = None
    duration_cv: Positive
    levels: list[Annotated[int, Field(ge=0, le=4)]] = []
    places: NonNegative | None = None
    budget_eur_per_year: EurOrZero | None = None
    burden_relief_per_month: Probability

    @model_validator(mode="after")
    def _one_cost(self) -> Help:
        if (self.cost_per_month_eur is None) == (self.cost_per_day_eur is None):
            raise ValueError("give exactly one of cost_per_month_eur or cost_per_day_eur")
        if self.places is not None and self.budget_eur_per_year is not None:
            raise ValueError("give at most one of places or budget_eur_per_year (a budget buys places)")
        if self.category == "prevention":
            raise ValueError("prevention services belong under [prevention], not [helps]")
        return self


def _years_of_change(node: object) -> set[int]:
    if isinstance(node, _Param | _Vector):
        return set(node.by_year)
    if isinstance(node, BaseModel):
        children = node.__dict__.values()
    elif isinstance(node, dict):
        children = node.values()
    elif isinstance(node, list | tuple):
        children = node
    else:
        return set()
    return set().union(*map(_years_of_change, children))


def _change(node: dict[str, Any], index: int | None, number: float, relative: bool, from_year: int | None) -> None:
    """Set (or with `relative` multiply) a number of a scenario's data, or element `index` of a vector, in
    `value` and in every `by_year` entry, or with `from_year` in the entry of that year and the later ones.
    A single number set absolutely holds alone: the later `by_year` entries go (its ramp is replaced)."""

    def changed(old: Any) -> Any:
        if index is None:
            return old * number if relative else number
        return [(x * number if relative else number) if j == index else x for j, x in enumerate(old)]

    by_year = node.get("by_year", {})
    later = relative or index is not None  # else the number holds alone
    if from_year is None:
        node["value"] = changed(node["value"])
        node["by_year"] = {year: changed(v) for year, v in by_year.items()} if later else {}
        return
    kept = {year: v for year, v in by_year.items() if year < from_year}
    moved = {year: changed(v) for year, v in by_year.items() if year > from_year and later}
    node["by_year"] = kept | {from_year: changed(_in_force(node["value"], by_year, from_year))} | moved


class Scenario(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME_LENGTH)
    description: str
    title: dict[Literal["de", "en"], str] = {}  # short name for briefings, per language; never inherited
    extends: str | list[str] | None = None
    simulation: Simulation
    district: District
    burden: Burden
    detection: Detection
    youth_office: YouthOffice
    policy: Policy
    unaccompanied_minors: UnaccompaniedMinors
    prevention: dict[Name, PreventionService] = Field(max_length=MAX_PREVENTION_SERVICES)
    helps: dict[Name, Help] = Field(max_length=MAX_HELPS)

    @model_validator(mode="after")
    def _catalogue(self) -> Scenario:
        accesses = {h.access for h in self.helps.values()}
        needed = {"help_plan", "placement", "crisis"}
        if not needed <= accesses:
            raise ValueError(
                f"helps need at least one of each access {sorted(needed)}; missing {sorted(needed - accesses)}"
            )
        if sum(h.access == "crisis" for h in self.helps.values()) != 1:
            raise ValueError("exactly one help needs access = 'crisis' (Inobhutnahme §42)")
        if sum(h.access == "diagnostic" for h in self.helps.values()) > 1:
            raise ValueError("at most one help may have access = 'diagnostic'")
        target = self.helps.get(self.unaccompanied_minors.residential_help)
        if target is None or target.access != "placement":
            placements = sorted(k for k, h in self.helps.items() if h.access == "placement")
            raise ValueError(
                f"unaccompanied_minors.residential_help = {self.unaccompanied_minors.residential_help!r} "
                f"must name a help with access = 'placement': one of {placements}"
            )
        for name, h in self.helps.items():  # figures per category carry the category's name (calibration)
            if name in STATISTICS and h.statistic != name:
                raise ValueError(
                    f"helps.{name}: a help named like a category of the statistics is counted in it: "
                    f"statistic = {name!r}, not {h.statistic!r}"
                )
        return self

    @property
    def content_hash(self) -> str:
        """SHA-256 of the validated content (after merging `extends`), for manifests."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()

    def years_of_change(self) -> frozenset[int]:
        """The years in which some number of the scenario takes a new value (its `by_year` entries)."""
        return frozenset(_years_of_change(self))

    def with_values(self, values: dict[str, float], relative: bool = False, from_year: int | None = None) -> Scenario:
        """A copy with numbers replaced, by key path: "burden.reversion_per_month", "detection.x_by_level[2]".

        relative=True multiplies instead: the value and its `by_year` changes keep their shape (a factor 1.2 on a
        budget that ramps up raises every step of the ramp by 20 %). from_year: the change holds from that year
        on, as a `by_year` entry; before it the scenario's own numbers hold (an experiment's factor acting from
        a year: `experiment.Uncertainty.from_year`)."""
        data = self.model_dump(mode="python")
        for path, number in values.items():
            *parents, last = path.split(".")
            name, _, index = last.partition("[")
            node: Any = data
            for part in [*parents, name]:
                if not isinstance(node, dict) or part not in node:
                    raise ScenarioError([f"{self.name}: {path}: no such key"])
                node = node[part]
            if not isinstance(node, dict) or "value" not in node:
                raise ScenarioError([f"{self.name}: {path}: not a number with a source"])
            if isinstance(node["value"], list) != bool(index):
                allowed = f"name one element, e.g. {path}[0]" if not index else "no [index] on a single number"
                raise ScenarioError([f"{self.name}: {path}: {allowed}"])
            i = None
            if index:
                i = int(index.rstrip("]")) if index.rstrip("]").isdigit() else len(node["value"])
                if i >= len(node["value"]):
                    raise ScenarioError([f"{self.name}: {path}: index out of range 0-{len(node['value']) - 1}"])
            _change(node, i, number, relative, from_year)
            if "uncertainty" in node:  # a number set here is no longer the uncertain one its range describes
                node["uncertainty"] = None
        try:
            return Scenario.model_validate(data)
        except ValidationError as err:
            raise ScenarioError(_problem_lines(err, lambda _loc: self.name)) from None

    def parameters(self) -> list[tuple[str, _Param | _Vector]]:
        """Every sourced number as (key path, parameter), for parameter tables and sensitivity analysis."""
        found: list[tuple[str, _Param | _Vector]] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, (_Param, _Vector)):
                found.append((path, node))
            elif isinstance(node, BaseModel):
                for key in type(node).model_fields:
                    walk(getattr(node, key), f"{path}.{key}" if path else key)
            elif isinstance(node, dict):
                for key, value in node.items():
                    walk(value, f"{path}.{key}")
            elif isinstance(node, list):
                for i, value in enumerate(node):
                    walk(value, f"{path}[{i}]")

        walk(self, "")
        return found


UNITS = (  # tokens in key names and the unit they declare; the first token found wins
    ("_eur_per_year", "EUR per year"),
    ("_per_10k_under_21_per_year", "per 10,000 under 21 per year"),
    ("_per_fte_per_month", "per FTE per month"),
    ("_per_day_eur", "EUR per day"),
    ("_per_month_eur", "EUR per month"),
    ("hazard_per_month_by_level", "probability per month, levels 1-4"),
    ("hazard_per_month", "probability per month"),
    ("_per_month", "share per month"),
    ("_months", "months"),
    ("_years", "years"),
    ("_share_by_band", "shares, ages 10-13/14-15/16-17"),
    ("_share", "share"),
    ("probability", "probability"),
    ("ratio_by_band", "ratio, ages 0-5/6-11/12-17/18-20"),
    ("weight_by_age_band", "relative weight, ages 0-5/6-11/12-17/18-20"),
    ("ratio_during", "ratio while the service runs"),
    ("ratio", "ratio"),
    ("_points", "burden points"),
    ("_fte", "full-time equivalents"),
    ("_sd_log", "SD of log"),
    ("_cv", "coefficient of variation"),
    ("inhabitants", "persons"),
    ("places", "places"),
)


def unit_of(key_path: str) -> str | None:
    """The unit a key declares by its name (see UNITS), or None if the name declares none."""
    parts = key_path.split(".")
    key = parts[-2] + "_" + parts[-1] if parts[-2:-1] == ["shock_hazard_ratio"] else parts[-1]
    return next((unit for token, unit in UNITS if token in key), None)


# --- loading ---------------------------------------------------------------------------------


def read_toml(path: Path, where: str = "", kind: str = "scenario") -> dict[str, Any]:
    """The table of a TOML file, or a ScenarioError naming the file (after `where`) and what is wrong."""
    if not path.exists():
        near = difflib.get_close_matches(path.name, [p.name for p in path.parent.glob("*.toml")], n=1)
        hint = f"; did you mean {path.with_name(near[0])}?" if near else ""
        raise ScenarioError([f"{where}{path}: file does not exist{hint}"])
    if not path.is_file():
        raise ScenarioError([f"{where}{path}: not a file (a {kind} is a .toml file)"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8").removeprefix("\ufeff"))  # a byte-order mark is fine
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ScenarioError([f"{path}: not valid TOML: {err}"]) from None
    except OSError as err:
        raise ScenarioError([f"{where}{path}: cannot be read: {err.strerror}"]) from None
    if not data:
        raise ScenarioError([f"{where}{path}: empty: no keys (a {kind} file needs at least name and description)"])
    return data


def inside_allowed(naming: Path, key: str, name: str, allowed: Sequence[Path] = ()) -> Path:
    """The file `name` given under `key` of the file `naming`, if it lies in the folder tree of `naming`, of the
    current folder or of an `allowed` folder; else a ScenarioError (the foreign file is never read)."""
    target = (naming.parent / name).resolve()
    roots = [naming.parent.resolve(), Path.cwd().resolve(), *(Path(root).resolve() for root in allowed)]
    if not any(target.is_relative_to(root) for root in roots):
        raise ScenarioError(
            [
                f"{naming}: {key}: {name!r}: outside the folders a file may name ({naming.parent} and the current "
                "folder, with their subfolders); give --allow-path FOLDER to allow another"
            ]
        )
    return target


def _read_chain(
    path: Path, seen: tuple[Path, ...] = (), allowed: Sequence[Path] = ()
) -> tuple[dict[str, Any], dict[tuple, Path]]:
    """Merged raw data of `path` and its `extends` ancestors, and which file set each key."""
    path = path.resolve()
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError([f"{seen[-1]}: extends: {path.name!r}: cycle of extends ({cycle})"])
    data = read_toml(path, where=f"{seen[-1]}: extends: " if seen else "")
    origin = {key: path for key in _leaf_paths(data)}
    parents = data.get("extends")
    if parents is None:
        return data, origin
    parents = [parents] if isinstance(parents, str) else parents
    if not isinstance(parents, list) or not parents or not all(isinstance(name, str) for name in parents):
        raise ScenarioError([f"{path}: extends: {data['extends']!r}: must be a file name or a list of file names"])
    files = [inside_allowed(path, "extends", name, allowed) for name in parents]
    merged, merged_origin = _merge_parents(files, (*seen, path), allowed)
    return _merge(merged, data), {**merged_origin, **origin}


def _merge_parents(
    files: list[Path], seen: tuple[Path, ...], allowed: Sequence[Path]
) -> tuple[dict[str, Any], dict[tuple, Path]]:
    """The chains of `files` merged in order (later ones override earlier ones), and which file set each key."""
    merged: dict[str, Any] = {}
    merged_origin: dict[tuple, Path] = {}
    for file in files:
        parent, parent_origin = _read_chain(file, seen, allowed)
        known = set(merged_origin.values())
        for leaf, origin in parent_origin.items():
            if origin not in known:  # a shared ancestor (baseline) must not undo what an earlier parent changed
                _set_leaf(merged, leaf, _get_leaf(parent, leaf))
                merged_origin[leaf] = origin
    return merged, merged_origin


def _get_leaf(data: dict[str, Any], leaf: tuple) -> Any:
    for key in leaf:
        data = data[key]
    return data


def _set_leaf(data: dict[str, Any], leaf: tuple, value: Any) -> None:
    *parents, last = leaf
    for key in parents:
        data = data.setdefault(key, {})
    data[last] = value


def _is_param(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def _leaf_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(node, dict) and not _is_param(node):
        return [p for key, value in node.items() for p in _leaf_paths(value, (*prefix, key))]
    return [prefix]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge; a parameter table ({value, source, by_year}) is replaced whole, never mixed."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict) and not _is_param(value):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _allowed_keys(loc: tuple, root: type[BaseModel]) -> list[str]:
    """The keys the schema `root` allows at the table `loc` (for messages about unknown keys)."""
    node: Any = root
    for part in loc:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(str(part))
            node = field.annotation if field else None
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        elif typing.get_origin(node) is list and isinstance(part, int):
            node = typing.get_args(node)[0]
        else:
            return []
        if typing.get_origin(node) in (typing.Union, types.UnionType):  # X | None -> X
            node = next(a for a in typing.get_args(node) if a is not type(None))
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _describe(error: dict[str, Any], root: type[BaseModel]) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(tuple(error["loc"][:-1]), root)
        return "unknown key; allowed here: " + ", ".join(allowed) if allowed else "unknown key"
    if kind == "missing":
        return "missing required key"
    if kind == "model_type" or kind == "dict_type":
        if error.get("ctx", {}).get("class_name") in _SOURCED and not isinstance(error["input"], dict):
            example = error["input"] if isinstance(error["input"], int | float | list) else "..."
            return f'must be a number with its source: {{ value = {example}, source = "where it comes from" }}'
        return "must be a table"
    return message.replace("Value error, ", "")


# The models of a sourced number: `{ value = ..., source = ... }` in a file.
_SOURCED = {model.__name__ for model in (*_Param.__subclasses__(), *_Vector.__subclasses__())}


def _origin_of(loc: tuple, origin: dict[tuple, Path], top: Path) -> Path:
    for cut in range(len(loc), 0, -1):
        if loc[:cut] in origin:
            return origin[loc[:cut]]
    return top


def load_scenario(path: str | Path, allowed: Sequence[Path] = ()) -> Scenario:
    """Read, merge (`extends`) and validate a scenario file; raise ScenarioError listing every problem.

    `extends` may name files in the folder tree of the file naming them, of the current folder, or of `allowed`."""
    top = Path(path).resolve()
    if "design" in read_toml(top):  # experiment.is_experiment
        raise ScenarioError([f"{top}: an experiment file (it has [design]), not a scenario: run prevsim experiment"])
    data, origin = _read_chain(top, allowed=allowed)
    data.pop("extends", None)
    if isinstance(data.get("title"), dict):  # a title names this file's scenario: never borrowed from a parent
        data["title"] = {lang: text for lang, text in data["title"].items() if origin.get(("title", lang)) == top}
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_problem_lines(err, lambda loc: _origin_of(loc, origin, top))) from None


def programme_on(district: str | Path, programme: str | Path, allowed: Sequence[Path] = ()) -> Scenario:
    """The programme's changes to its own parent applied to `district`, as a file with `extends = [district,
    programme]` would be: the keys the programme's chain sets beyond the files of the district's chain (their
    shared baseline) win, except where the district sets the number too (`programme_overrides`): there the
    programme's change is applied as a ratio to its parent's number (a 20 % lower placement probability stays
    20 % lower on the district's own one). Name, description and title are the programme's. Nothing is written."""
    files = [Path(district).resolve(), Path(programme).resolve()]
    parents = read_toml(files[1]).get("extends")
    if parents is None:  # a whole scenario would replace the district, not change it
        raise ScenarioError([f"{files[1]}: extends: missing: a programme names the scenario it changes"])
    parents = [parents] if isinstance(parents, str) else parents
    before, _ = _merge_parents([inside_allowed(files[1], "extends", name, allowed) for name in parents], (), allowed)
    district_data, _ = _read_chain(files[0], allowed=allowed)
    data, origin = _merge_parents(files, (), allowed)
    for key in programme_overrides(files[0], files[1], allowed):
        leaf = tuple(key.split("."))
        _set_leaf(data, leaf, _scaled(_get_leaf(data, leaf), _get_leaf(before, leaf), _get_leaf(district_data, leaf)))
    data.pop("extends", None)
    data["title"] = {
        lang: text for lang, text in data.get("title", {}).items() if origin.get(("title", lang)) == files[1]
    }
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_problem_lines(err, lambda loc: _origin_of(loc, origin, files[1]))) from None


def _scaled(changed: Any, before: Any, own: Any) -> Any:
    """A programme's number `changed` from `before`, moved onto the district's `own` one by the same ratio."""
    if not all(_is_param(node) for node in (changed, before, own)):
        return changed
    if isinstance(own["value"], list):
        ratio = [c / b if b else 1.0 for c, b in zip(changed["value"], before["value"], strict=True)]
        value = [o * r for o, r in zip(own["value"], ratio, strict=True)]
        return {
            **changed,
            "value": value,
            "source": f"{changed['source']} (as a ratio to its parent, on {own['source']})",
        }
    if not before["value"]:
        return changed  # no ratio from zero: the programme's number stands
    ratio = own["value"] / before["value"]
    by_year = {year: v * ratio for year, v in changed.get("by_year", {}).items()}
    source = f"{changed['source']} (scaled by the district's {own['value']:g} / {before['value']:g})"
    return {**changed, "value": changed["value"] * ratio, "by_year": by_year, "source": source, "uncertainty": None}


def programme_overrides(district: str | Path, programme: str | Path, allowed: Sequence[Path] = ()) -> list[str]:
    """The key paths that both the district's chain and the programme's chain set beyond their shared files:
    there the programme's change goes onto the district's own number as a ratio (`programme_on`)."""
    chains = [_read_chain(Path(file).resolve(), allowed=allowed)[1] for file in (district, programme)]
    files = [set(origin.values()) for origin in chains]
    own = [
        {leaf for leaf, file in origin.items() if file not in other}
        for origin, other in zip(chains, files[::-1], strict=True)
    ]
    return sorted(
        ".".join(leaf) for leaf in own[0] & own[1] if leaf[0] not in ("name", "description", "title", "extends")
    )


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A scenario as given, or loaded from its file (for callers that accept either, like Mesa's batch_run)."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _shown(value: Any, width: int = 60) -> str:
    """The value of a problem as written, shortened so that a line stays readable: a long table or list by its
    number of entries, a long text by its start."""
    text = repr(value)
    if len(text) <= width:
        return text
    if isinstance(value, dict | list):
        return f"({len(value)} entries)"
    return f"{text[: width - 5]}...{text[-1]} ({len(str(value))} characters)"


def _problem_lines(
    err: ValidationError, file_of: Callable[[tuple], Any], root: type[BaseModel] = Scenario
) -> list[str]:
    """One line per problem: file, key path, value, what is allowed (keys: those of the schema `root`)."""
    lines = []
    for error in err.errors():
        loc = tuple(part for part in error["loc"] if part != "[key]")  # pydantic marker of a bad table key
        key_path = ".".join(str(part) for part in loc) or "(top level)"
        whole_table = error["type"] == "value_error" and isinstance(error["input"], dict)  # a check across keys
        value = "" if error["type"] == "missing" or whole_table else f" {_shown(error['input'])}:"
        lines.append(f"{file_of(loc)}: {key_path}:{value} {_describe(error, root)}")
    return lines
