"""fallback and Slack away statuses: where a lead no eligible rep can take goes, which Slack
statuses mean a rep is away, and which away periods a Slack status started

Existing teams keep today's behaviour (`wait`: try again later) and the default away statuses;
existing away periods were all started by `/dibs away`.

Revision ID: f4c5a7c626f5
Revises: c7e41a9d2b58
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f4c5a7c626f5"
down_revision: str | None = "c7e41a9d2b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback", sa.String(length=32), server_default="wait", nullable=False))
        batch_op.add_column(sa.Column("away_statuses", sa.JSON(), nullable=True))
    with op.batch_alter_table("away_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), server_default="command", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("away_periods", schema=None) as batch_op:
        batch_op.drop_column("source")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("away_statuses")
        batch_op.drop_column("fallback")
