"""Seeded random streams, one per purpose.

One seed decides everything, but each purpose draws from its own stream (S2's election
timeouts, the delays on the link S1->S3, ...), so one extra message does not shift
every later draw. Streams are seeded from a string, which ``random.Random`` hashes with
SHA-512: the same seed gives the same numbers in every process and on every machine.
"""

from __future__ import annotations

import random


class Streams:
    __slots__ = ("seed", "streams")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.streams: dict[tuple[str | int, ...], random.Random] = {}

    def get(self, purpose: tuple[str | int, ...]) -> random.Random:
        """The stream for ``purpose``, e.g. ``("election", 2)`` or ``("delay", 1, 3)``."""
        stream = self.streams.get(purpose)
        if stream is None:
            name = "/".join(str(part) for part in (self.seed, *purpose))
            stream = self.streams[purpose] = random.Random(f"luminous_edu/{name}")
        return stream

    def clone(self) -> Streams:
        twin = Streams(self.seed)
        for purpose, stream in self.streams.items():
            copy = random.Random()
            copy.setstate(stream.getstate())
            twin.streams[purpose] = copy
        return twin


def draw_int(stream: random.Random, low: int, high: int) -> int:
    """A uniform whole number in [low, high], inclusive."""
    return low + int(stream.random() * (high - low + 1))
