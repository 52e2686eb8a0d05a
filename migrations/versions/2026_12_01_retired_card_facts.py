"""retired card facts: how and by whom a card was retired, instead of a sentence with a mention

The retired card's stub used to be stored as a sentence (`released by <@U123>`). It is now
stored as facts (`retired_as`, `retired_by`) and `retired_reason` holds the holder's own
reason, so handlers/ words and escapes it. Existing sentences are split into the facts.

Revision ID: 4f7d2c1a9b3e
Revises: 91c002749856
Create Date: 2026-12-01 09:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4f7d2c1a9b3e"
down_revision: str | None = "91c002749856"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SENTENCE = re.compile(r"^(\w+) by <@(\w+)>$")

_cards = sa.table(
    "lead_cards",
    sa.column("id", sa.Integer),
    sa.column("retired_as", sa.String),
    sa.column("retired_by", sa.String),
    sa.column("retired_reason", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("lead_cards", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_as", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("retired_by", sa.String(length=32), nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_cards.c.id, _cards.c.retired_reason).where(_cards.c.retired_reason.is_not(None))
    )
    for card_id, sentence in rows.all():
        if match := _SENTENCE.match(sentence):  # every stub the old code wrote has this form
            update = _cards.update().where(_cards.c.id == card_id)
            connection.execute(update.values(retired_as=match[1], retired_by=match[2], retired_reason=None))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_cards.c.id, _cards.c.retired_as, _cards.c.retired_by).where(_cards.c.retired_as.is_not(None))
    )
    for card_id, retired_as, retired_by in rows.all():
        sentence = f"{retired_as} by <@{retired_by}>" if retired_by else retired_as
        connection.execute(_cards.update().where(_cards.c.id == card_id).values(retired_reason=sentence))
    with op.batch_alter_table("lead_cards", schema=None) as batch_op:
        batch_op.drop_column("retired_by")
        batch_op.drop_column("retired_as")
