"""seen_events by age: an index on seen_at, so the sweep that forgets old request digests and
Slack event ids reads only what it deletes

Revision ID: 3c6a0e8d51f7
Revises: dfe09d64333e
Create Date: 2026-12-01 07:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3c6a0e8d51f7"
down_revision: str | None = "dfe09d64333e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_seen_events_seen_at", "seen_events", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_events_seen_at", table_name="seen_events")
