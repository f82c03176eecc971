"""Families as a structure of NumPy arrays: one slot per family, one array per attribute.

A slot holds one child (the index child) and the circumstances of the family it lives in. The national
statistics count helps per young person (§31 SPFH per family), so one slot per child keeps the model's
counts comparable with them; siblings occupy separate slots with independently drawn risk factors.
"""

from __future__ import annotations

import numpy as np

from model.scenario import RISK_FACTORS

NO_HELP = -1  # value of `help` and `prevention` when a family has none

FIELDS: dict[str, type] = {
    "id": np.int64,  # stable identity: the counter of the family's common random numbers
    "unaccompanied": np.bool_,  # unaccompanied minor: exogenous, no family in the district
    "moving_away": np.bool_,  # leaves the district at the next demography phase
    "age_months": np.int16,  # age of the index child
    **{factor: np.bool_ for factor in RISK_FACTORS},
    "shock_ratio": np.float64,  # product of the risk factors' hazard ratios and the family's frailty
    "burden": np.float64,  # latent burden in burden points
    "level": np.int8,  # risk level 0-4 = thresholds of burden reached
    "help": np.int8,  # index into the help catalogue, or NO_HELP
    "help_months_left": np.int16,
    "help_months_used": np.int16,
    "help_start_level": np.int8,  # risk level when the help was granted: escalation is a rise above it
    "prevention": np.int8,  # index into the prevention services, or NO_HELP
    "prevention_months_left": np.int16,
    "prevention_received": np.int32,  # bit mask of services received: each is offered once
    "protection": np.float64,  # lasting reduction of the shock hazard from earlier prevention, decays
    "protection_decay": np.float64,  # monthly factor of that decay
    "waiting": np.bool_,  # known to the youth office, waiting for a help plan
    "months_waiting": np.int16,
    "failed_help": np.bool_,  # an earlier help ended with the need unresolved
    "diagnosed": np.bool_,  # had intensive family diagnostics
}


class Families:
    """The population; attributes are the arrays named in FIELDS."""

    def __init__(self, n: int):
        for name, dtype in FIELDS.items():
            setattr(self, name, np.zeros(n, dtype=dtype))
        self.help[:] = NO_HELP
        self.prevention[:] = NO_HELP
        self.protection_decay[:] = 1.0

    def __len__(self) -> int:
        return len(self.id)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the families where mask is False (exits)."""
        for name in FIELDS:
            setattr(self, name, getattr(self, name)[mask])

    def extend(self, other: Families) -> None:
        """Add new families (births, arrivals) at the end."""
        for name in FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))
