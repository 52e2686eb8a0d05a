"""Verifiable fair-start draws: a commitment when the window opens, the seed revealed when it closes.

When a fair-start window opens the lead gets a fresh secret seed, and its card shows only the
seed's commitment, sha256(seed). When the window closes, the winner follows from the seed and the
published inputs alone (each claimant's Slack id and ratio of credited leads to fair share, as
`/dibs why` shows them); click times are not an input, so clicking faster cannot help. Anyone can
recompute it (docs/fairness.md has the recipe; `dibs verify-draw L-n` does it here):

    lowest = min(ratio for _, ratio in entrants)
    tied = sorted(rep for rep, ratio in entrants if ratio == lowest)
    winner = tied[int(sha256(f"{seed}:{','.join(tied)}"), 16) % len(tied)]

A seed that does not hash to the commitment shown when the window opened is never used
(`DrawTampered`), so the operator cannot swap the seed after seeing who clicked.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

SEED_BYTES = 32
_replay: random.Random | None = None  # set only inside `reproducible_seeds` (the simulator)


class DrawTampered(RuntimeError):
    """A draw's seed does not hash to the commitment published when its window opened."""


def new_seed() -> str:
    """A fresh secret seed: 32 random bytes as 64 hex digits."""
    if _replay is not None:
        return _replay.randbytes(SEED_BYTES).hex()
    return secrets.token_hex(SEED_BYTES)


@contextmanager
def reproducible_seeds(seed: int) -> Iterator[None]:
    """Seeds from a seeded generator while inside, so a simulated run can be repeated exactly.

    Only `dibs simulate` and `dibs preview` use it (one thread, a throwaway database); a served
    draw's seed always comes from `secrets`.
    """
    global _replay
    _replay = random.Random(seed)
    try:
        yield
    finally:
        _replay = None


def commitment(seed: str) -> str:
    """What the card shows while the window is open: sha256 of the seed, in hex."""
    return hashlib.sha256(seed.encode()).hexdigest()


def check_seed(seed: str, committed: str) -> None:
    """Raise DrawTampered unless `seed` is the one `committed` to (compared in constant time)."""
    if not secrets.compare_digest(commitment(seed), committed):
        raise DrawTampered(f"the draw seed does not match its commitment {committed}")


def tied_at_lowest(entrants: Sequence[tuple[str, float]]) -> tuple[str, ...]:
    """The entrants (Slack id, published ratio) sharing the lowest ratio, sorted by Slack id."""
    lowest = min(ratio for _, ratio in entrants)
    return tuple(sorted(rep for rep, ratio in entrants if ratio == lowest))


def pick(seed: str, entrants: Sequence[tuple[str, float]]) -> str:
    """The winner: lowest ratio; among those tied, the one the seed's hash points at."""
    tied = tied_at_lowest(entrants)
    digest = hashlib.sha256(f"{seed}:{','.join(tied)}".encode()).hexdigest()
    return tied[int(digest, 16) % len(tied)]


@dataclass(frozen=True)
class DrawCheck:
    """`dibs verify-draw`: what was published, and whether it gives back the recorded winner."""

    lead: str  # L-n
    seed: str
    committed: str
    entrants: tuple[tuple[str, float], ...]
    recorded_winner: str
    recomputed_winner: str

    @property
    def seed_matches(self) -> bool:
        return secrets.compare_digest(commitment(self.seed), self.committed)

    @property
    def ok(self) -> bool:
        return self.seed_matches and self.recomputed_winner == self.recorded_winner


def check(lead: str, seed: str, committed: str, entrants: Sequence[tuple[str, float]], winner: str) -> DrawCheck:
    """Recompute a revealed draw from its published inputs."""
    return DrawCheck(lead, seed, committed, tuple(entrants), winner, pick(seed, entrants))
