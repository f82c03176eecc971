"""Families as a structure of NumPy arrays: one slot per family, one array per attribute.

A slot holds one child (the index child) and the circumstances of the family it lives in. The national
statistics count helps per young person (§31 SPFH per family), so one slot per child keeps the model's
counts comparable with them; siblings occupy separate slots with independently drawn risk factors.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from functools import cache

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
    "help_start_sgb2_poverty": np.bool_,  # the family's circumstances when the help began: the statistics
    "help_start_single_parent": np.bool_,  # record them for the start of a help (microdata of helps ended, census)
    "prevention": np.int8,  # index into the prevention services, or NO_HELP
    "prevention_months_left": np.int16,
    "prevention_received": np.int32,  # bit mask of services received: each is offered once
    "protection": np.float64,  # lasting reduction of the shock hazard from earlier prevention, decays
    "protection_decay": np.float64,  # monthly factor of that decay
    "parenting": np.float64,  # lasting reduction of the shock hazard from a change in parenting, realised
    "parenting_pending": np.float64,  # the part of that change still to come
    "parenting_growth": np.float64,  # monthly share of the pending change realised
    "waiting": np.bool_,  # known to the youth office, waiting for a help plan
    "months_waiting": np.int16,
    "failed_help": np.bool_,  # an earlier help ended with the need unresolved
    "diagnosed": np.bool_,  # had intensive family diagnostics
    "earlier_hze": np.bool_,  # the young person has had a help that counts as HzE (microdata)
}
DEFAULTS = {"help": NO_HELP, "prevention": NO_HELP, "protection_decay": 1.0}  # of a new family; else 0 or False
FamilyArrays = namedtuple("FamilyArrays", FIELDS)  # the fields as one value, for the compiled phases (`kernels`)


class Families:
    """The population; attributes are the arrays named in FIELDS, views of `len` consecutive slots of a store.

    The store has room to spare, so that births and arrivals are written into it instead of copying
    every array, and exits are removed in place, keeping the order of the others (capped places are
    granted in array order): the longest stretch without a leaver stays, the families on either side
    move towards it, so the block of families may start later in the store. Slots outside the block hold
    the defaults of a new family. Assign to a field's elements (`f.level[:] = ...`), never rebind the
    attribute, or the store and the view part.
    """

    def __init__(self, n: int):
        self._start = self._n = 0
        self._store = {name: np.zeros(0, dtype=dtype) for name, dtype in FIELDS.items()}
        self._reallocate(n)
        self.add(n)

    @classmethod
    def of(cls, fields: dict[str, np.ndarray]) -> Families:
        """A population holding copies of the given fields (all of FIELDS, of equal length)."""
        families = cls(len(fields["id"]))
        for name, values in fields.items():
            getattr(families, name)[:] = values
        return families

    def _view(self) -> None:
        views = {name: values[self._start : self._start + self._n] for name, values in self._store.items()}
        self.__dict__.update(views)
        self.arrays = FamilyArrays(**views)
        self.risk_factors = tuple(views[factor] for factor in RISK_FACTORS)

    def __len__(self) -> int:
        return self._n

    def remove(self, gone: np.ndarray) -> None:
        """Drop the families at the ascending indices `gone` (exits), keeping the order of the others."""
        self._drop(gone)
        self._view()

    def renew(self, gone: np.ndarray, n: int) -> slice:
        """A month's exits and entries: remove the families at `gone` (as `remove`), then add n (as `add`),
        rebuilding the attributes once."""
        self._drop(gone)
        return self.add(n)

    def _drop(self, gone: np.ndarray) -> None:
        if len(gone):
            gone = np.ascontiguousarray(gone, dtype=np.int64)  # the type `_remove_columns` was compiled for
            self._start += self._remove_columns(self._columns, self._start, self._n, gone)
            self._n -= len(gone)

    def add(self, n: int) -> slice:
        """Slots for n new families (births, arrivals) at the end, holding the defaults of FIELDS."""
        end = self._n + n
        if self._start + end > len(self._store["id"]):
            self._reallocate(end + end // 4 + 64)  # room for years of net growth: a copy now and then, not every month
        new = slice(self._n, end)
        self._n = end
        self._view()
        return new

    def _reallocate(self, capacity: int) -> None:
        """A new store of `capacity` slots, the families at its beginning."""
        for name, values in self._store.items():
            stored = np.full(capacity, DEFAULTS.get(name, 0), dtype=values.dtype)
            stored[: self._n] = values[self._start : self._start + self._n]
            self._store[name] = stored
        self._start = 0
        # for the compiled removal: each store array with its default, one argument
        self._columns = tuple(
            (values, values.dtype.type(DEFAULTS.get(name, 0))) for name, values in self._store.items()
        )
        self._remove_columns = _compiled_remove()


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
def _remove(columns: tuple, start: int, n: int, gone: np.ndarray) -> int:
    """Remove the families at the (ascending) indices `gone` of the block of n families beginning at slot
    `start` of each (store, default) column, keeping the order of the others; how far the block's
    beginning moved.

    The longest stretch of families without a leaver (before the first leaver, between two, or after the
    last) stays where it is: the families before it move up towards it, those after it move down. In the
    steady state leavers are mostly the oldest, stored first, so few families move. Freed slots get the
    default.
    """
    # the `before` first leavers are removed by moving up what precedes them, the others by moving down
    # what follows them; moved: how many families that moves
    before, fewest = 0, n - 1 - gone[0]
    for k in range(1, len(gone) + 1):
        moved = gone[k - 1] + (n - 1 - gone[k] if k < len(gone) else 0)
        if moved < fewest:
            before, fewest = k, moved
    for column in literal_unroll(columns):  # a heterogeneous tuple: the loop is unrolled per column
        values, default = column[0][start : start + n], column[1]
        for k in range(before - 1, -1, -1):  # the run before the k-th leaver moves up by before - k
            first = gone[k - 1] + 1 if k > 0 else 0
            _move(values, first + before - k, first, gone[k] - first)
        for k in range(before, len(gone)):  # the run after the k-th leaver moves down by k - before + 1
            first = gone[k] + 1
            stop = gone[k + 1] if k + 1 < len(gone) else n
            _move(values, first - (k - before + 1), first, stop - first)
        values[:before] = default
        values[n - (len(gone) - before) :] = default
    return before


@cache
def _compiled_remove() -> Callable:
    """`_remove` compiled for the store's columns, to be called directly: the dispatcher's check of the 30
    (array, default) pairs on every call costs more than removing a month's leavers from a small district.
    The columns' types follow from FIELDS alone (1-D arrays of those dtypes and their defaults)."""
    columns = nb.types.Tuple(
        [
            nb.types.Tuple([nb.types.Array(nb.from_dtype(np.dtype(dtype)), 1, "C"), nb.from_dtype(np.dtype(dtype))])
            for dtype in FIELDS.values()
        ]
    )
    index = nb.types.Array(nb.types.int64, 1, "C")
    return _remove.compile((columns, nb.types.int64, nb.types.int64, index))
