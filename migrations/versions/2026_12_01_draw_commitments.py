"""draw commitments: a fair-start window's secret seed and the sha256 commitment its card shows

Revision ID: a917ccbd7ff9
Revises: 8308cce3fec0
Create Date: 2026-12-01 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a917ccbd7ff9"
down_revision: str | None = "8308cce3fec0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_seed", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("draw_commitment", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # SQLite rebuilds `leads` to drop columns, and batch mode cannot carry an expression index
    # over: set it aside around the rebuild (one statement each on PostgreSQL).
    op.drop_index("ix_leads_team_block_territory", table_name="leads")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("draw_commitment")
        batch_op.drop_column("draw_seed")
    op.create_index(
        "ix_leads_team_block_territory", "leads", ["team_id", "name_block", sa.text("lower(territory)")], unique=False
    )
