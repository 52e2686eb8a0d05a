"""draw commitments: a fair-start window's secret seed and the sha256 commitment its card shows

Revision ID: a917ccbd7ff9
Revises: 428f8fce843a
Create Date: 2026-12-01 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a917ccbd7ff9"
down_revision: str | None = "428f8fce843a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_seed", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("draw_commitment", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, not a copy of the table: a copy would lose the expression index
    # on leads (lower(territory)), which SQLAlchemy cannot reflect.
    with op.batch_alter_table("leads", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("draw_commitment")
        batch_op.drop_column("draw_seed")
