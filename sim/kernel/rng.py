"""Named, independent random streams derived from one run seed."""

from __future__ import annotations

import random
import zlib

import numpy as np


class Streams:
    """Independent, named random streams derived from one run seed.

    ``random.Random`` hashes ``str`` seeds with SHA-512, so a stream depends only on the
    run seed and its name, never on ``PYTHONHASHSEED`` or on how many draws another
    subsystem made. Each subsystem takes its stream once, by its module name.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, random.Random] = {}
        self._numpy: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> random.Random:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(f"{self.seed}/{name}")
        return stream

    def numpy(self, name: str) -> np.random.Generator:
        """A numpy generator for vectorised draws, seeded from ``[seed, crc32(name)]``."""
        key = f"np:{name}"
        gen = self._numpy.get(key)
        if gen is None:
            gen = self._numpy[key] = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        return gen
