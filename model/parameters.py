"""The numbers of a scenario in force in one year, as NumPy arrays the monthly loop indexes directly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from model.scenario import AGE_BANDS_YEARS, CATEGORIES, RISK_FACTORS, Scenario

DAYS_PER_MONTH = 365.25 / 12
ADULT_MONTHS = 18 * 12
MAX_AGE_MONTHS = 21 * 12  # §41 helps end at 21
ACCESSES = ("self_referral", "help_plan", "diagnostic", "placement", "crisis")
SELF_REFERRAL, HELP_PLAN, DIAGNOSTIC, PLACEMENT, CRISIS = range(len(ACCESSES))
SINGLE_PARENT = RISK_FACTORS.index("single_parent")  # the risk factor on which the others' shares depend
AGE_BAND_STARTS = tuple(12 * years for years in AGE_BANDS_YEARS[1:-1])  # in months, after the first band's
# (a tuple: compiled code knows its length, and unrolls the loop over it)


def table(values: np.ndarray) -> tuple:
    """A small table for the compiled phases as a tuple of Python numbers (see Rules)."""
    return tuple(values.tolist())


@dataclass(frozen=True)
class Catalogue:
    """Names and fixed properties of helps and prevention services (the same in every year)."""

    help_names: tuple[str, ...]
    help_labels: tuple[str, ...]
    help_access: np.ndarray  # index into ACCESSES
    help_category: np.ndarray  # index into CATEGORIES
    help_counts_as_hze: np.ndarray
    help_level_ok: np.ndarray  # [help, level 0-4] -> bool
    prevention_names: tuple[str, ...]
    prevention_labels: tuple[str, ...]
    prevention_age_months: np.ndarray  # [service, (min, max)]
    prevention_level_ok: np.ndarray  # [service, level 0-4] -> bool
    unaccompanied_help: int  # the residential help unaccompanied minors go to after Inobhutnahme
    helps_by_access: dict[str, np.ndarray]  # the helps of each access, in catalogue order

    @classmethod
    def of(cls, scenario: Scenario) -> Catalogue:
        helps, services = scenario.helps, scenario.prevention
        names = tuple(helps)
        level_ok = np.zeros((len(helps), 5), dtype=bool)
        for i, h in enumerate(helps.values()):
            level_ok[i, h.levels] = True
        access = np.array([ACCESSES.index(h.access) for h in helps.values()])
        prevention_level_ok = np.zeros((len(services), 5), dtype=bool)
        for i, s in enumerate(services.values()):
            prevention_level_ok[i, s.target_levels] = True
        return cls(
            help_names=names,
            help_labels=tuple(h.label for h in helps.values()),
            help_access=access,
            help_category=np.array([CATEGORIES.index(h.category) for h in helps.values()]),
            help_counts_as_hze=np.array([h.counts_as_hze for h in helps.values()]),
            help_level_ok=level_ok,
            prevention_names=tuple(services),
            prevention_labels=tuple(s.label for s in services.values()),
            prevention_age_months=np.array([s.eligible_age_months for s in services.values()]).reshape(-1, 2),
            prevention_level_ok=prevention_level_ok,
            unaccompanied_help=names.index(scenario.unaccompanied_minors.residential_help),
            helps_by_access={a: np.flatnonzero(access == i) for i, a in enumerate(ACCESSES)},
        )

    def helps_with(self, access: str) -> np.ndarray:
        return self.helps_by_access[access]

    @cached_property
    def uptake_streams(self) -> tuple[str, ...]:
        """The names of the random streams of the services' uptake, one per service."""
        return tuple(f"uptake:{name}" for name in self.prevention_names)


@dataclass(frozen=True)
class YearParameters:
    """Everything that may change by year (`by_year` in the scenario), resolved for one year; they hold until
    the next year in which a number changes (`Scenario.years_of_change`)."""

    year: int  # the year they were resolved for
    births_per_month: float
    risk_factor_share: np.ndarray  # [risk factor (RISK_FACTORS), parents a couple 0 / single 1] -> share at birth
    risk_factor_hazard_ratio: np.ndarray  # by risk factor: the shock hazard ratio of having it
    frailty_sd_log: float
    under_21: float
    unaccompanied_per_month: float
    unaccompanied_arrival_age_months: int
    unaccompanied_residential_probability: float
    shock_hazard: float
    shock_mean_size: float
    reversion: float
    age_hazard_ratio: np.ndarray
    report_hazard_by_level: np.ndarray  # index 0-4; level 0 is never reported
    self_referral_by_level: np.ndarray
    escalation_noticed: float
    acute_share: float
    network_referral: float
    network_outreach: float
    help_plans_per_month: float
    plan_completion: float
    placement_by_level: np.ndarray  # index 0-4
    placement_after_failed: float
    placement_after_crisis: float
    transfer_if_burdened: float
    continue_after_18: float
    diagnostics_first: float
    diagnosed_placement_ratio: float
    # helps, indexed by help
    help_cost_per_month: np.ndarray
    help_duration_mu: np.ndarray  # log-normal duration parameters
    help_duration_sigma: np.ndarray
    help_relief: np.ndarray
    help_weight: np.ndarray  # [help, age band]
    help_places: np.ndarray  # inf where the help is an entitlement without a cap
    # prevention services, indexed by service
    prevention_cost_per_month: np.ndarray
    prevention_places: np.ndarray
    prevention_duration: np.ndarray
    prevention_uptake: np.ndarray
    prevention_shock_ratio: np.ndarray
    prevention_protection: np.ndarray
    prevention_decay: np.ndarray
    prevention_referral_ratio: np.ndarray

    @classmethod
    def of(cls, s: Scenario, year: int) -> YearParameters:
        d, b, det, yo, pol, uma = s.district, s.burden, s.detection, s.youth_office, s.policy, s.unaccompanied_minors
        inhabitants = d.inhabitants.at(year)
        under_21 = inhabitants * d.under_21_share.at(year)
        minors = inhabitants * d.minors_share.at(year)
        helps, services = list(s.helps.values()), list(s.prevention.values())

        def help_cost(h) -> float:
            return (
                h.cost_per_month_eur.at(year) if h.cost_per_month_eur else h.cost_per_day_eur.at(year) * DAYS_PER_MONTH
            )

        def help_places(h) -> float:  # a cap on places, or a budget that buys places; none: an entitlement
            if h.places is not None:
                return np.floor(h.places.at(year))
            if h.budget_eur_per_year is not None:
                return np.floor(h.budget_eur_per_year.at(year) / (12 * help_cost(h)))
            return np.inf

        cv = np.array([h.duration_cv.at(year) for h in helps])
        sigma = np.sqrt(np.log1p(cv**2))
        mean = np.array([h.mean_duration_months.at(year) for h in helps])
        prevention_cost = np.array([p.cost_per_month_eur.at(year) for p in services])
        budget = np.array([p.budget_eur_per_year.at(year) for p in services])
        half_life = np.array([p.protection_half_life_months.at(year) for p in services])
        placement_4 = pol.placement_probability_level_4.at(year)
        rf = d.risk_factors
        share = {
            factor: [getattr(rf, f"{factor}_share").at(year)] * 2 for factor in RISK_FACTORS if factor != "sgb2_poverty"
        }
        share["sgb2_poverty"] = [
            rf.sgb2_poverty_share_if_couple.at(year),
            rf.sgb2_poverty_share_if_single_parent.at(year),
        ]
        return cls(
            year=year,
            births_per_month=minors / 216,  # stationary population: one cohort of minors per 18 years
            risk_factor_share=np.array([share[factor] for factor in RISK_FACTORS]),
            risk_factor_hazard_ratio=np.array([rf.shock_hazard_ratio[factor].at(year) for factor in RISK_FACTORS]),
            frailty_sd_log=b.frailty_sd_log.at(year),
            under_21=under_21,
            unaccompanied_per_month=uma.crisis_intakes_per_10k_under_21_per_year.at(year) * under_21 / 10_000 / 12,
            unaccompanied_arrival_age_months=round(uma.arrival_age_years.at(year) * 12),
            unaccompanied_residential_probability=uma.residential_probability_after_crisis.at(year),
            shock_hazard=b.shock_hazard_per_month.at(year),
            shock_mean_size=b.shock_mean_size_points.at(year),
            reversion=b.reversion_per_month.at(year),
            age_hazard_ratio=np.array(b.age_hazard_ratio_by_band.value),
            report_hazard_by_level=np.array([0.0, *det.report_hazard_per_month_by_level.value]),
            self_referral_by_level=np.array([0.0, *det.self_referral_hazard_per_month_by_level.value]),
            escalation_noticed=det.in_help_escalation_detection_per_month.at(year),
            acute_share=det.acute_share_of_endangerment.at(year),
            network_referral=det.network_referral_hazard_ratio.at(year),
            network_outreach=det.network_outreach_hazard_ratio.at(year),
            help_plans_per_month=yo.caseworkers_fte.at(year) * yo.help_plans_per_fte_per_month.at(year),
            plan_completion=yo.help_plan_completion_per_month.at(year),
            placement_by_level=np.array([0.0, 0.0, 0.0, pol.placement_probability_level_3.at(year), placement_4]),
            placement_after_failed=pol.placement_probability_after_failed_help.at(year),
            placement_after_crisis=pol.placement_after_crisis_probability.at(year),
            transfer_if_burdened=pol.transfer_probability_if_burdened.at(year),
            continue_after_18=pol.continue_after_18_probability.at(year),
            diagnostics_first=pol.diagnostics_first_share.at(year),
            diagnosed_placement_ratio=pol.diagnosed_placement_ratio.at(year),
            help_cost_per_month=np.array([help_cost(h) for h in helps]),
            help_duration_mu=np.log(mean) - sigma**2 / 2,
            help_duration_sigma=sigma,
            help_relief=np.array([h.burden_relief_per_month.at(year) for h in helps]),
            help_weight=np.array([h.weight_by_age_band.value for h in helps]),
            help_places=np.array([help_places(h) for h in helps]),
            prevention_cost_per_month=prevention_cost,
            prevention_places=np.floor(budget / (12 * prevention_cost)),
            prevention_duration=np.array([max(1, round(p.mean_duration_months.at(year))) for p in services]),
            prevention_uptake=np.array([p.uptake_hazard_per_month.at(year) for p in services]),
            prevention_shock_ratio=np.array([p.shock_hazard_ratio_during.at(year) for p in services]),
            prevention_protection=np.array([p.protection_after_share.at(year) for p in services]),
            prevention_decay=0.5 ** (1 / half_life),
            prevention_referral_ratio=np.array([p.referral_hazard_ratio_during.at(year) for p in services]),
        )


class Rules(NamedTuple):
    """What the compiled phases (`kernels`) read of the catalogue and of a year's parameters, as one value.

    Tables indexed by a family's help or service end with the entry for NO_HELP (index -1). Small tables
    are tuples: compiled code knows their length and picks an entry by comparisons, so that its loops over
    the families run on vector instructions (`kernels.pick`).
    """

    # demography, burden and risk
    risk_factor_share: np.ndarray
    risk_factor_hazard_ratio: np.ndarray
    frailty_sd_log: float
    unaccompanied_arrival_age_months: int
    continue_after_18: float
    shock_hazard: float
    age_hazard_ratio: tuple[float, ...]
    shock_ratio_by_prevention: tuple[float, ...]
    burden_kept_by_help: np.ndarray
    shock_mean_size: float
    reversion: float
    # helps
    help_access: np.ndarray
    help_weight: np.ndarray
    help_level_ok: np.ndarray
    help_places: np.ndarray
    duration_mu: np.ndarray
    duration_sigma: np.ndarray
    ambulant_by_help: tuple[bool, ...]
    self_referral_helps: np.ndarray
    help_plan_helps: np.ndarray
    diagnostic_helps: np.ndarray
    placement_helps: np.ndarray
    crisis_help: int
    unaccompanied_help: int
    # prevention
    prevention_places: np.ndarray
    prevention_reach: np.ndarray
    prevention_youngest: tuple[int, ...]
    prevention_oldest: tuple[int, ...]
    prevention_by_level: tuple[int, ...]
    prevention_duration: np.ndarray
    prevention_protection: np.ndarray
    prevention_decay: np.ndarray
    # detection and assessment
    report_hazard_by_level: tuple[float, ...]
    network_referral: float
    referral_ratio_by_prevention: tuple[float, ...]
    escalation_noticed: float
    self_referral_by_level: tuple[float, ...]
    acute_share: float
    # help planning
    plan_completion: float
    diagnostics_first: float
    placement_by_level: np.ndarray
    placement_after_failed: float
    diagnosed_placement_ratio: float
    # help outcomes
    transfer_if_burdened: float
    unaccompanied_residential_probability: float
    placement_after_crisis: float

    @classmethod
    def of(cls, cat: Catalogue, p: YearParameters) -> Rules:
        """The rules of a year, each field of a fixed type (compiled code is called for the types of the first
        year's rules: `kernels.phases_for`): the year's parameter or catalogue entry of the same name, or
        the one named below."""
        no_help = 1.0  # the entry for NO_HELP (-1), last, of the tables by a family's service or help
        named = {
            "help_access": cat.help_access,
            "help_level_ok": cat.help_level_ok,
            "duration_mu": p.help_duration_mu,
            "duration_sigma": p.help_duration_sigma,
            "ambulant_by_help": table(np.append(cat.help_access <= DIAGNOSTIC, False)),
            "self_referral_helps": cat.helps_with("self_referral"),
            "help_plan_helps": cat.helps_with("help_plan"),
            "diagnostic_helps": cat.helps_with("diagnostic"),
            "placement_helps": cat.helps_with("placement"),
            "crisis_help": cat.helps_with("crisis")[0],
            "unaccompanied_help": cat.unaccompanied_help,
            "prevention_reach": p.prevention_uptake * p.network_outreach,
            "prevention_youngest": table(cat.prevention_age_months[:, 0]),
            "prevention_oldest": table(cat.prevention_age_months[:, 1]),
            # for each risk level 0-4, the services that take families of that level, as a bit mask
            "prevention_by_level": table(
                (cat.prevention_level_ok.T.astype(np.int64) << np.arange(len(cat.prevention_names))).sum(1)
            ),
            "age_hazard_ratio": table(p.age_hazard_ratio),
            "shock_ratio_by_prevention": table(np.append(p.prevention_shock_ratio, no_help)),
            # the share of its burden a family keeps in a month: reversion, and the help's relief (none without)
            "burden_kept_by_help": (1.0 - p.reversion) * (1.0 - np.append(p.help_relief, 0.0)),
            "report_hazard_by_level": table(p.report_hazard_by_level),
            "referral_ratio_by_prevention": table(np.append(p.prevention_referral_ratio, no_help)),
            "self_referral_by_level": table(p.self_referral_by_level),
        }
        kinds = {"float": float, "int": int, "np.ndarray": np.ascontiguousarray}  # tuples stay as they are
        return cls(
            **{
                name: kinds.get(kind, lambda value: value)(named[name] if name in named else getattr(p, name))
                for name, kind in cls.__annotations__.items()
            }
        )
