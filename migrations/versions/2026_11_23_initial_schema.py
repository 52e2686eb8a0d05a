"""initial schema

Revision ID: 91c002749856
Revises:
Create Date: 2026-11-23 22:47:10.939309
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "91c002749856"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("started_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "key", name=op.f("uq_job_runs_job_key")),
    )
    op.create_table(
        "seen_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("seen_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_seen_events")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("mediation_channel", sa.String(length=32), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("intake_token_hash", sa.String(length=64), nullable=True),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("limit_overrides", sa.JSON(), nullable=False),
        sa.Column("digest_day", sa.String(length=3), nullable=False),
        sa.Column("digest_time", sa.String(length=5), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("territory", sa.String(length=50), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("account_key", sa.String(length=200), nullable=True),
        sa.Column("account_domain", sa.String(length=253), nullable=True),
        sa.Column("account_name", sa.String(length=200), nullable=True),
        sa.Column("name_block", sa.String(length=16), nullable=True),
        sa.Column("phone_key", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("announced_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fair_start_until", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("auto_assign_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("assignment", sa.JSON(), nullable=True),
        sa.Column("closed_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name=op.f("ck_leads_score_range")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_leads_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("team_id", "external_id", name=op.f("uq_leads_team_id_external_id")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_status_auto_assign", ["status", "auto_assign_at"], unique=False)
        batch_op.create_index("ix_leads_status_fair_start", ["status", "fair_start_until"], unique=False)
        batch_op.create_index("ix_leads_team_account_domain", ["team_id", "account_domain"], unique=False)
        batch_op.create_index("ix_leads_team_account_name", ["team_id", "account_name"], unique=False)
        batch_op.create_index("ix_leads_team_created", ["team_id", "created_at"], unique=False)
        batch_op.create_index("ix_leads_team_name_block", ["team_id", "name_block"], unique=False)
        batch_op.create_index("ix_leads_team_phone_key", ["team_id", "phone_key"], unique=False)
        batch_op.create_index("ix_leads_team_status", ["team_id", "status"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("territories", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("joined_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_assigned_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("weight > 0", name=op.f("ck_members_weight_positive")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_members_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("slack_user_id", name=op.f("uq_members_slack_user_id")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_team_id"), ["team_id"], unique=False)

    op.create_table(
        "away_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_away_periods_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_away_periods")),
    )
    with op.batch_alter_table("away_periods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_away_periods_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_away_periods_one_open_per_member",
            ["member_id"],
            unique=True,
            postgresql_where=sa.text("ends_at IS NULL"),
            sqlite_where=sa.text("ends_at IS NULL"),
        )

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("hot", sa.Boolean(), nullable=False),
        sa.Column("over_limit", sa.Boolean(), nullable=False),
        sa.Column("requested_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("contacted_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remind_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_claims_lead_id_leads")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_claims_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index("ix_claims_lead", ["lead_id"], unique=False)
        batch_op.create_index("ix_claims_member_requested", ["member_id", "requested_at"], unique=False)
        batch_op.create_index("ix_claims_started", ["started_at"], unique=False)
        batch_op.create_index("ix_claims_status_ended", ["status", "ended_at"], unique=False)
        batch_op.create_index("ix_claims_status_expires", ["status", "expires_at"], unique=False)
        batch_op.create_index("ix_claims_status_remind", ["status", "remind_at"], unique=False)
        batch_op.create_index(
            "uq_claims_one_owner_per_lead",
            ["lead_id"],
            unique=True,
            postgresql_where=sa.text("status IN ('active', 'won', 'lost')"),
            sqlite_where=sa.text("status IN ('active', 'won', 'lost')"),
        )
        batch_op.create_index(
            "uq_claims_one_pending_per_rep",
            ["lead_id", "member_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "credit_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("percent > 0 AND percent <= 100", name=op.f("ck_credit_shares_percent_range")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_credit_shares_lead_id_leads")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_credit_shares_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_shares")),
        sa.UniqueConstraint("lead_id", "member_id", name=op.f("uq_credit_shares_lead_id_member_id")),
    )
    with op.batch_alter_table("credit_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_shares_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_shares_member_id"), ["member_id"], unique=False)

    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=True),
        sa.Column("account_holder_id", sa.Integer(), nullable=True),
        sa.Column("account_held_since", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("suggested_member_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remind_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("thread_channel", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_holder_id"],
            ["members.id"],
            name=op.f("fk_disputes_account_holder_id_members"),
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_disputes_lead_id_leads")),
        sa.ForeignKeyConstraint(["mediator_id"], ["members.id"], name=op.f("fk_disputes_mediator_id_members")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["members.id"], name=op.f("fk_disputes_resolved_by_id_members")),
        sa.ForeignKeyConstraint(
            ["suggested_member_id"],
            ["members.id"],
            name=op.f("fk_disputes_suggested_member_id_members"),
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_disputes_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index("ix_disputes_status_remind", ["status", "remind_at"], unique=False)
        batch_op.create_index("ix_disputes_team_opened", ["team_id", "opened_at"], unique=False)
        batch_op.create_index("ix_disputes_team_resolved", ["team_id", "resolved_at"], unique=False)
        batch_op.create_index("ix_disputes_team_status", ["team_id", "status"], unique=False)
        batch_op.create_index(
            "uq_disputes_one_open_per_lead",
            ["lead_id"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "lead_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_lead_cards_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_cards")),
    )
    with op.batch_alter_table("lead_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_cards_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_lead_cards_message", ["channel", "ts"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("dispute_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_audit_events_dispute_id_disputes")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_audit_events_lead_id_leads")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_audit_events_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_audit_events_team_at", ["team_id", "at"], unique=False)

    op.create_table(
        "dispute_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_dispute_parties_claim_id_claims")),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_dispute_parties_dispute_id_disputes")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_dispute_parties_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_parties")),
        sa.UniqueConstraint("dispute_id", "member_id", name=op.f("uq_dispute_parties_dispute_id_member_id")),
    )
    with op.batch_alter_table("dispute_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_parties_member_id"), ["member_id"], unique=False)

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("dispute_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["dispute_id"], ["disputes.id"], name=op.f("fk_outbox_messages_dispute_id_disputes")),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_outbox_messages_lead_id_leads")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_outbox_messages_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_messages_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index("ix_outbox_messages_status_available", ["status", "available_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_status_available")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_lead_id"))

    op.drop_table("outbox_messages")
    with op.batch_alter_table("dispute_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispute_parties_member_id"))

    op.drop_table("dispute_parties")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_team_at")
        batch_op.drop_index(batch_op.f("ix_audit_events_lead_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_dispute_id"))

    op.drop_table("audit_events")
    with op.batch_alter_table("lead_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_cards_message")
        batch_op.drop_index(batch_op.f("ix_lead_cards_lead_id"))

    op.drop_table("lead_cards")
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_disputes_one_open_per_lead",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_disputes_team_status")
        batch_op.drop_index("ix_disputes_team_resolved")
        batch_op.drop_index("ix_disputes_team_opened")
        batch_op.drop_index("ix_disputes_status_remind")

    op.drop_table("disputes")
    with op.batch_alter_table("credit_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_shares_member_id"))
        batch_op.drop_index(batch_op.f("ix_credit_shares_lead_id"))

    op.drop_table("credit_shares")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_claims_one_pending_per_rep",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(
            "uq_claims_one_owner_per_lead",
            postgresql_where=sa.text("status IN ('active', 'won', 'lost')"),
            sqlite_where=sa.text("status IN ('active', 'won', 'lost')"),
        )
        batch_op.drop_index("ix_claims_status_remind")
        batch_op.drop_index("ix_claims_status_expires")
        batch_op.drop_index("ix_claims_status_ended")
        batch_op.drop_index("ix_claims_started")
        batch_op.drop_index("ix_claims_member_requested")
        batch_op.drop_index("ix_claims_lead")

    op.drop_table("claims")
    with op.batch_alter_table("away_periods", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_away_periods_one_open_per_member",
            postgresql_where=sa.text("ends_at IS NULL"),
            sqlite_where=sa.text("ends_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_away_periods_member_id"))

    op.drop_table("away_periods")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_team_id"))

    op.drop_table("members")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_team_status")
        batch_op.drop_index("ix_leads_team_phone_key")
        batch_op.drop_index("ix_leads_team_name_block")
        batch_op.drop_index("ix_leads_team_created")
        batch_op.drop_index("ix_leads_team_account_name")
        batch_op.drop_index("ix_leads_team_account_domain")
        batch_op.drop_index("ix_leads_status_fair_start")
        batch_op.drop_index("ix_leads_status_auto_assign")

    op.drop_table("leads")
    op.drop_table("teams")
    op.drop_table("seen_events")
    op.drop_table("job_runs")
