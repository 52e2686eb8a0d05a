"""erasure and exports: when a lead's contact details were erased, a team's contact retention,
and the outbox kind that delivers a manager's export to their DM

Revision ID: 428f8fce843a
Revises: f4c5a7c626f5
Create Date: 2026-12-01 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "428f8fce843a"
down_revision: str | None = "f4c5a7c626f5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "announce_lead",
    "refresh_card",
    "post",
    "notice",
    "respond",
    "publish_home",
    "dispute_case",
    "dispute_refresh",
    "thread_post",
    "digest",
    "digest_chart",
    "retire_copy",
    "ephemeral",
    "upload",
    "webhook",
    "hubspot_owner",
)


def _kinds(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_erased_at", models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kinds((*KINDS, "export_file")))


def downgrade() -> None:
    op.execute("DELETE FROM outbox_messages WHERE kind = 'export_file'")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kinds(KINDS))
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("contact_retention_days")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("contact_erased_at")
