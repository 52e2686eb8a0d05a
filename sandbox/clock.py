"""A clock for end-to-end runs (tests, the demo): real seconds pass, and it can be moved ahead."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SteppingClock:
    """Runs like a real clock from a known start; `advance` and `jump_to` move it forward
    (the scheduler then finds what came due)."""

    def __init__(self, start: datetime):
        self._start = start.astimezone(UTC)
        self._began = time.monotonic()
        self._jumped = timedelta()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began) + self._jumped

    def advance(self, **delta: float) -> datetime:
        """Move forward by a `timedelta(**delta)`; the new time."""
        self._jumped += timedelta(**delta)
        return self()

    def jump_to(self, moment: datetime) -> None:
        """Move forward to `moment` (never back)."""
        self._jumped += max(moment - self(), timedelta())
