"""Common random numbers: one stream per kind of decision, one draw per (stream, month, family id).

A draw is SplitMix64 evaluated at position (month << 40 | family id) of the stream keyed by
(seed, stream). It depends on nothing else, so two scenarios run with the same seed see the same
draw for the same family in the same month, whatever other families do, and a phase can draw
for just the families that need one (as Starsim's slot-indexed streams do).
"""

from __future__ import annotations

import zlib

import numpy as np

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_MONTH_SHIFT = np.uint64(40)  # family ids stay below 2**40
_MONTH_OFFSET = 1024  # month indices start below zero during burn-in


class Streams:
    """Stream keys derived from one integer seed and the stream's name (e.g. "shock", "uptake:elternschule")."""

    def __init__(self, seed: int):
        self.seed = seed
        self._keys: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        if stream not in self._keys:
            entropy = [self.seed, zlib.crc32(stream.encode())]
            self._keys[stream] = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
        return self._keys[stream]

    def uniform(self, stream: str, month: int, ids: np.ndarray) -> np.ndarray:
        """Uniform draws in [0, 1), one per family id."""
        # uint64 arithmetic wraps around, as SplitMix64 wants; array operations do not warn about it
        z = ids.astype(np.uint64)
        z |= np.uint64(month + _MONTH_OFFSET) << _MONTH_SHIFT
        z *= _GAMMA
        z += self._key(stream)
        z ^= z >> np.uint64(30)
        z *= _MIX1
        z ^= z >> np.uint64(27)
        z *= _MIX2
        z ^= z >> np.uint64(31)
        z >>= np.uint64(11)
        return z.astype(np.float64) * (1.0 / 9007199254740992.0)
