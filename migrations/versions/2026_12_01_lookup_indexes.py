"""indexes for the account look-up's fuzzy route and the digest's week (issue 11)

- `ix_leads_team_block_territory` (team_id, name_block, lower(territory)) serves the fuzzy route of
  the account look-up, which needs the same first word *and* territory; it replaces
  `ix_leads_team_name_block`, whose only user that route was.
- `ix_claims_requested` and `ix_credit_shares_created_at` let the digest read only the claims and
  credit of a week's leads (neither predates its lead) instead of scanning whole tables.

On SQLite a later `batch_alter_table("leads")` that rebuilds the table (a drop or alter of a
column) loses the expression index, which alembic cannot reflect: such a migration must create it
again, or come before this one.

Revision ID: 8308cce3fec0
Revises: a917ccbd7ff9
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8308cce3fec0"
down_revision: str | None = "a917ccbd7ff9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_leads_team_block_territory", "leads", ["team_id", "name_block", sa.text("lower(territory)")], unique=False
    )
    op.drop_index("ix_leads_team_name_block", table_name="leads")
    op.create_index("ix_claims_requested", "claims", ["requested_at"], unique=False)
    op.create_index("ix_credit_shares_created_at", "credit_shares", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_credit_shares_created_at", table_name="credit_shares")
    op.drop_index("ix_claims_requested", table_name="claims")
    op.create_index("ix_leads_team_name_block", "leads", ["team_id", "name_block"], unique=False)
    op.drop_index("ix_leads_team_block_territory", table_name="leads")
