"""Microdata like the official statistics' single records (Einzeldatensätze of the HzE statistics).

When a model is asked for them (`DistrictModel(..., microdata=True)`), the compiled phases write one row
per help begun, help ended and §8a assessment into an `EventLog`; the model drains it every month of the
horizon and adds, on 31 December, one row per young person in a help (the census). `Microdata` holds the
three tables the statistics publish from:

- helps: one row per help begun and per help ended (`event`), with the young person's age in completed
  years, the family's circumstances (transfer benefits, single parent) when the help began (the statistics
  record them for the start of a help; they may change during it), whether the young person is an
  unaccompanied minor (no family in Germany: the statistics record the reason "unbegleitete Einreise"), an
  earlier HzE, the route into the help, and for ended helps the months it ran and whether it ended as
  planned;
- census: one row per young person in a help on 31 December, with the circumstances when it began and
  whether the young person is an unaccompanied minor;
- assessments: one row per §8a assessment with its outcome and the circumstances then;
- population: the young people of each age on 31 December, the denominator of rates per 10,000 of the same
  age (`model.validation`).

Their counts equal the model's own tallies (tests/test_microdata.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

BEGUN, ENDED, ASSESSED = range(3)  # the kinds of event
ROUTES = ("self_referral", "help_plan", "8a_assessment", "crisis_intake", "transfer", "after_crisis")
SELF_REFERRAL_ROUTE, HELP_PLAN_ROUTE, ASSESSMENT_ROUTE, CRISIS_INTAKE_ROUTE, TRANSFER_ROUTE, AFTER_CRISIS_ROUTE = range(
    len(ROUTES)
)
NO_ROUTE = -1  # of an ended help and an assessment


class EventLog(NamedTuple):
    """Rows written by the compiled phases (`kernels.log_event`); `rows[0]` of them are in use. Without
    microdata there is no log (`TallyArrays.events` is None)."""

    rows: np.ndarray  # int64[1]
    kind: np.ndarray  # BEGUN, ENDED, ASSESSED
    help: np.ndarray  # the help begun or ended; the outcome (ASSESSMENT_OUTCOMES) of an assessment
    age_months: np.ndarray
    transfer_benefits: np.ndarray  # the family lives on transfer benefits (SGB II: the risk factor sgb2_poverty)
    single_parent: np.ndarray
    unaccompanied: np.ndarray  # an unaccompanied minor: no family in Germany (the statistics' "unbegleitete Einreise")
    earlier_help: np.ndarray  # the young person had an HzE before (for a help begun: before this one)
    in_service: np.ndarray  # a help or prevention service running (assessments)
    route: np.ndarray  # ROUTES (helps begun)
    months: np.ndarray  # months the help ran (helps ended)
    as_planned: np.ndarray  # ended as planned (helps ended): not failed, not ended by an escalation

    @classmethod
    def with_room(cls, rows: int) -> EventLog:
        dtypes = {"kind": np.int8, "help": np.int8, "age_months": np.int16, "route": np.int8, "months": np.int16}
        columns = {name: np.zeros(rows, dtype=dtypes.get(name, np.bool_)) for name in cls._fields[1:]}
        return cls(rows=np.zeros(1, dtype=np.int64), **columns)

    def drain(self) -> dict[str, np.ndarray]:
        """The rows written since the last drain (copies), and an empty log."""
        n = int(self.rows[0])
        self.rows[0] = 0
        return {name: getattr(self, name)[:n].copy() for name in self._fields[1:]}


@dataclass
class Microdata:
    """The horizon's events and censuses of one model run, collected month by month (`collect`, `census`)."""

    help_names: tuple[str, ...]
    counts_as_hze: np.ndarray
    out_of_home: np.ndarray
    start_year: int
    replicate: int = 0
    _events: list[pd.DataFrame] = field(default_factory=list)
    _censuses: list[pd.DataFrame] = field(default_factory=list)
    _populations: list[pd.DataFrame] = field(default_factory=list)

    def collect(self, month: int, rows: dict[str, np.ndarray]) -> None:
        if len(rows["kind"]):
            frame = pd.DataFrame(rows)
            frame.insert(0, "month", month)
            self._events.append(frame)

    def census(self, month: int, help: np.ndarray, age_months: np.ndarray, benefits, single, unaccompanied) -> None:
        """Young people in a help at the end of `month` (31 December)."""
        frame = pd.DataFrame(
            {
                "help": help,
                "age_months": age_months,
                "transfer_benefits": benefits,
                "single_parent": single,
                "unaccompanied": unaccompanied,
            }
        )
        frame.insert(0, "month", month)
        self._censuses.append(frame)

    def population(self, month: int, young_people_by_age: np.ndarray) -> None:
        """The young people of each age in completed years (index 0, 1, ...) at the end of `month` (31 December)."""
        self._populations.append(
            pd.DataFrame(
                {
                    "replicate": self.replicate,
                    "year": self.start_year + month // 12,
                    "age_years": np.arange(len(young_people_by_age), dtype=np.int16),
                    "young_people": young_people_by_age.astype(np.float64),
                }
            )
        )

    def _common(self, frame: pd.DataFrame, with_help: bool = True) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "replicate": self.replicate,
                "year": self.start_year + frame["month"] // 12,
                "month": frame["month"] % 12 + 1,
            }
        )
        if with_help:
            h = frame["help"].to_numpy()
            out["help"] = pd.Categorical.from_codes(h, categories=list(self.help_names))
            out["hze"] = self.counts_as_hze[h]
            out["out_of_home"] = self.out_of_home[h]
        out["age_years"] = (frame["age_months"] // 12).astype(np.int16)
        out["transfer_benefits"] = frame["transfer_benefits"].astype(bool)
        out["single_parent"] = frame["single_parent"].astype(bool)
        out["unaccompanied"] = frame["unaccompanied"].astype(bool)
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        """helps, census, assessments and population, as described in the module's docstring."""
        events = pd.concat(self._events, ignore_index=True) if self._events else pd.DataFrame(columns=EVENT_COLUMNS)
        helps = events[events["kind"] != ASSESSED]
        table = self._common(helps)
        table.insert(3, "event", np.where(helps["kind"] == BEGUN, "begun", "ended"))
        table["earlier_help"] = helps["earlier_help"].to_numpy(dtype=bool)
        route = helps["route"].to_numpy()
        table["route"] = pd.Categorical.from_codes(np.where(helps["kind"] == BEGUN, route, -1), categories=ROUTES)
        ended = helps["kind"].to_numpy() == ENDED
        table["months"] = pd.Series(helps["months"].to_numpy(), dtype="Int16").where(ended, pd.NA).to_numpy()
        planned = pd.Series(helps["as_planned"].to_numpy(dtype=bool), dtype="boolean")
        table["as_planned"] = planned.where(ended, pd.NA).to_numpy()
        from model.recorder import ASSESSMENT_OUTCOMES  # the recorder holds an EventLog: imported late

        assessed = events[events["kind"] == ASSESSED]
        assessments = self._common(assessed, with_help=False)
        outcome = assessed["help"].to_numpy()
        assessments.insert(3, "outcome", pd.Categorical.from_codes(outcome, categories=list(ASSESSMENT_OUTCOMES)))
        assessments.insert(5, "in_service", assessed["in_service"].to_numpy(dtype=bool))
        censuses = pd.concat(self._censuses, ignore_index=True) if self._censuses else pd.DataFrame(columns=CENSUS)
        census = self._common(censuses).drop(columns="month")
        return {
            "helps": table.reset_index(drop=True),
            "census": census.reset_index(drop=True),
            "assessments": assessments.reset_index(drop=True),
            "population": pd.concat(self._populations, ignore_index=True)
            if self._populations
            else pd.DataFrame(columns=["replicate", "year", "age_years", "young_people"]),
        }


EVENT_COLUMNS = ["month", *EventLog._fields[1:]]
CENSUS = ["month", "help", "age_months", "transfer_benefits", "single_parent", "unaccompanied"]
