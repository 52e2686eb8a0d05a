"""Service-level tests read what a person would: the domain's facts as handlers/ words them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.errors import DibsError
from handlers.notices import notice_text
from handlers.refusals import refusal_text
from models import OutboxMessage


@contextmanager
def refusal(kind: type[DibsError], match: str = "") -> Iterator[None]:
    """`pytest.raises(kind, match=...)`, matched against the sentence the person reads."""
    with pytest.raises(kind) as caught:
        yield
    said = refusal_text(caught.value)
    assert re.search(match, said), f"{match!r} not in {said!r}"


def sent_text(row: OutboxMessage) -> str:
    """The text a queued notice (or a thread post) is sent with."""
    return notice_text(row.payload)
