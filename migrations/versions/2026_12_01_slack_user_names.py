"""slack user names: a cache of users.info for where a mention cannot render

Revision ID: caa454136b99
Revises: 4f7d2c1a9b3e
Create Date: 2026-12-01 00:18:20.272823
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "caa454136b99"
down_revision: str | None = "4f7d2c1a9b3e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("real_name", sa.String(length=255), nullable=True),
        sa.Column("fetched_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_slack_users")),
    )


def downgrade() -> None:
    op.drop_table("slack_users")
