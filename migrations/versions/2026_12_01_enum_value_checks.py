"""enum value checks: status, kind, outcome, role and how columns refuse values outside their enum

The models type these columns with enums stored as the same strings as before (models/types.py,
`string_enum`); this adds the CHECK constraints those types declare, so the database itself
refuses a value the code does not know. The values are listed here as they were at this revision,
with the outbox kinds earlier releases wrote, so their rows still pass (and still load).

Revision ID: 8e3b5d0c7f21
Revises: caa454136b99
Create Date: 2026-12-01 01:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8e3b5d0c7f21"
down_revision: str | None = "caa454136b99"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALLOWED: dict[str, dict[str, tuple[str, ...]]] = {
    "leads": {"status": ("open", "claimed", "disputed", "won", "lost")},
    "claims": {
        "status": ("pending", "active", "won", "lost", "released", "expired", "declined"),
        "how": ("claim", "auto", "assign", "route", "award", "split", "withdrawn"),
    },
    "disputes": {
        "kind": ("same_lead", "same_account"),
        "status": ("open", "resolved", "withdrawn"),
        "outcome": ("award", "split", "assign", "withdrawn"),
    },
    "members": {"role": ("rep", "manager")},
    "outbox_messages": {
        "kind": (
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
            "ephemeral",  # no longer queued; rows of earlier releases keep it
            "upload",  # likewise
        ),
        "status": ("pending", "sent", "failed"),
    },
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    for table, columns in ALLOWED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), _condition(column, values))


def downgrade() -> None:
    for table, columns in ALLOWED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
