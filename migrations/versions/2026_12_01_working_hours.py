"""working hours: each rep's zone and hours, the team's default hours and holidays, paused reps,
and where a lead no rep could take went (escalated, fallback)

Existing teams get no hours (around the clock) and no holidays, existing reps the team's, so
nothing changes for them until their config says so.

Revision ID: 5b1e9c3d7a42
Revises: 8e3b5d0c7f21
Create Date: 2026-12-01 01:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "5b1e9c3d7a42"
down_revision: str | None = "8e3b5d0c7f21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hours", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("holidays", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hours", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("paused_at", models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("fallback")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
        batch_op.drop_column("hours")
        batch_op.drop_column("timezone")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("holidays")
        batch_op.drop_column("hours")
