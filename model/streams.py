"""Common random numbers: one stream per kind of decision, one draw per (stream, month, family id).

A draw is SplitMix64 evaluated at position (month << 40 | family id) of the stream keyed by
(seed, stream). It depends on nothing else, so two scenarios run with the same seed see the same
draw for the same family in the same month, whatever other families do, and a phase can draw
for just the families that need one (as Starsim's slot-indexed streams do).

`draw` is compiled (numba) so that the engine's kernels draw inline, family by family; `Streams` gives
each stream's key.
"""

from __future__ import annotations

import zlib

import numba as nb
import numpy as np

_MONTH_SHIFT = 40  # family ids stay below 2**40
_MONTH_OFFSET = 1024  # month indices start below zero during burn-in


@nb.njit(cache=True, inline="always")
def position(month: int) -> np.uint64:
    """The month's part of a draw's position; a family's position is position(month) | id."""
    return np.uint64(month + _MONTH_OFFSET) << np.uint64(_MONTH_SHIFT)


@nb.njit(cache=True, inline="always")
def draw(key: np.uint64, month_position: np.uint64, family_id: np.int64) -> float:
    """SplitMix64 at (month_position | family_id) of the stream `key`, as a uniform in [0, 1)."""
    # uint64 arithmetic wraps around, as SplitMix64 wants
    z = (np.uint64(family_id) | np.uint64(month_position)) * np.uint64(0x9E3779B97F4A7C15) + key
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return float(np.int64(z >> np.uint64(11))) * (1.0 / 9007199254740992.0)  # 53 bits: exact in a float64


class Streams:
    """Stream keys derived from one integer seed and the stream's name (e.g. "shock", "uptake:elternschule")."""

    def __init__(self, seed: int):
        self.seed = seed
        self._keys: dict[str | tuple[str, ...], np.uint64 | np.ndarray] = {}  # a name: its key; names: their keys

    def key(self, stream: str) -> np.uint64:
        if stream not in self._keys:
            entropy = [self.seed, zlib.crc32(stream.encode())]
            self._keys[stream] = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
        return self._keys[stream]

    def keys(self, streams: tuple[str, ...]) -> np.ndarray:
        """The keys of several streams, for a kernel that draws from each (e.g. one per service)."""
        if streams not in self._keys:
            self._keys[streams] = np.array([self.key(stream) for stream in streams], dtype=np.uint64)
        return self._keys[streams]
