"""Families as a structure of NumPy arrays: one slot per family, one array per attribute.

A slot holds one child (the index child) and the circumstances of the family it lives in. The national
statistics count helps per young person (§31 SPFH per family), so one slot per child keeps the model's
counts comparable with them; siblings occupy separate slots with independently drawn risk factors.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from numba import literal_unroll
from numba.core import cgutils, types
from numba.extending import intrinsic

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
DEFAULTS = {"help": NO_HELP, "prevention": NO_HELP, "protection_decay": 1.0}  # of a new family; else 0 or False


class Families:
    """The population; attributes are the arrays named in FIELDS, views of the first `len` slots of a store.

    The store has room to spare, so that births and arrivals are written into it instead of copying
    every array, and exits are removed by moving the remaining families down in place (their order
    is kept: capped places are granted in array order). Slots past the last family hold the defaults
    of a new family. Assign to a field's elements (`f.level[:] = ...`), never rebind the attribute,
    or the store and the view part.
    """

    def __init__(self, n: int):
        self._n = 0
        self._store = {name: np.zeros(0, dtype=dtype) for name, dtype in FIELDS.items()}
        self._grow(n)
        self.add(n)

    def _view(self) -> None:
        for name, values in self._store.items():
            setattr(self, name, values[: self._n])

    def __len__(self) -> int:
        return self._n

    def remove(self, gone: np.ndarray) -> None:
        """Drop the families at the ascending indices `gone` (exits), keeping the order of the others."""
        if len(gone) == 0:
            return
        _remove(self._columns, self._n, gone)
        self._n -= len(gone)
        self._view()

    def add(self, n: int) -> slice:
        """Slots for n new families (births, arrivals) at the end, holding the defaults of FIELDS."""
        end = self._n + n
        if end > len(self._store["id"]):
            self._grow(end + end // 4 + 64)  # room for years of net growth: a copy now and then, not every month
        new = slice(self._n, end)
        self._n = end
        self._view()
        return new

    def _grow(self, capacity: int) -> None:
        for name, values in self._store.items():
            grown = np.full(capacity, DEFAULTS.get(name, 0), dtype=values.dtype)
            grown[: self._n] = values[: self._n]
            self._store[name] = grown
        # for the compiled removal: each store array with its default, one argument
        self._columns = tuple(
            (values, values.dtype.type(DEFAULTS.get(name, 0))) for name, values in self._store.items()
        )


@intrinsic
def _move(typingctx, values, dst, src, count):
    """values[dst : dst + count] = values[src : src + count] as one memmove (the ranges may overlap).

    numba copies an overlapping slice through a temporary array; a month's exits are many short runs.
    """

    def codegen(context, builder, signature, args):
        array, dst, src, count = args
        data = context.make_array(signature.args[0])(context, builder, array).data
        itemsize = context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        cgutils.raw_memmove(builder, builder.gep(data, [dst]), builder.gep(data, [src]), count, itemsize)
        return context.get_dummy_value()

    return types.void(values, types.intp, types.intp, types.intp), codegen


@nb.njit(cache=True)
def _remove(columns: tuple, n: int, gone: np.ndarray) -> None:
    """Remove the families at the (ascending) indices `gone` from the first n slots of each (store, default)
    column: the runs between them move down, in order; the slots freed at the end get the default."""
    for column in literal_unroll(columns):  # a heterogeneous tuple: the loop is unrolled per column
        values, default = column[0], column[1]
        for k in range(len(gone)):  # the run after the k-th removed family moves down by k + 1
            start = gone[k] + 1
            stop = gone[k + 1] if k + 1 < len(gone) else n
            _move(values, start - k - 1, start, stop - start)
        values[n - len(gone) : n] = default
