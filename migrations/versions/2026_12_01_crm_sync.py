"""crm sync: each team's CRM wiring, outbox kinds for webhooks and HubSpot, CRM events taken

Revision ID: c7e41a9d2b58
Revises: 5b1e9a7c3d42
Create Date: 2026-12-01 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "c7e41a9d2b58"
down_revision: str | None = "5b1e9a7c3d42"
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
    "ephemeral",
    "upload",
    "retire_copy",
)
NEW_KINDS = ("webhook", "hubspot_owner")

_outbox = sa.table("outbox_messages", sa.column("kind", sa.String))


def _kind_check(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("crm", sa.JSON(), server_default="{}", nullable=False))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kind_check((*KINDS, *NEW_KINDS)))
    op.create_table(
        "crm_events_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_crm_events_in_lead_id_leads")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_crm_events_in_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_events_in")),
        sa.UniqueConstraint("team_id", "event_id", name=op.f("uq_crm_events_in_team_id_event_id")),
    )
    with op.batch_alter_table("crm_events_in", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crm_events_in_lead_id"), ["lead_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crm_events_in", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_events_in_lead_id"))
    op.drop_table("crm_events_in")
    op.execute(sa.delete(_outbox).where(_outbox.c.kind.in_(NEW_KINDS)))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kind_check(KINDS))
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("crm")
