"""What the database can store, read off the models: the one source for input bounds.

Input is checked against these at the edge (commands, the webhook, the CSV import, Slack
payloads) so that a value the database would refuse is answered with a clear message instead
of surfacing as an error from the database.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import Numeric

from models.base import Base
from models.lead import Claim
from models.ops import SeenEvent
from models.team import Member

MAX_ID = 2**31 - 1  # every id column is an INTEGER (PostgreSQL: 4 bytes, signed)

# C0 controls except tab, newline and carriage return, DEL and the C1 controls. PostgreSQL
# refuses NUL in text outright; the rest have no business in a name, a note or a command.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def column_length(model: type[Base], column: str) -> int:
    """The declared length of a string column (`String(200)` → 200)."""
    length = getattr(model.__table__.c[column].type, "length", None)
    if length is None:
        raise ValueError(f"{model.__name__}.{column} has no length")
    return int(length)


def largest_number(model: type[Base], column: str) -> Decimal:
    """The largest value a `Numeric(p, s)` column holds (`Numeric(14, 2)` → 999999999999.99)."""
    kind = model.__table__.c[column].type
    if not isinstance(kind, Numeric) or kind.precision is None or kind.scale is None:
        raise ValueError(f"{model.__name__}.{column} is not a Numeric(precision, scale)")
    return Decimal(10) ** (kind.precision - kind.scale) - Decimal(10) ** -kind.scale


def has_control_characters(text: str) -> bool:
    """True when `text` holds a character no text column should store (NUL above all)."""
    return _CONTROL.search(text) is not None


MAX_AMOUNT = largest_number(Claim, "amount")
SLACK_ID_LENGTH = column_length(Member, "slack_user_id")
EVENT_ID_LENGTH = column_length(SeenEvent, "event_id")
