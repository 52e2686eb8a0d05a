"""outbox leases: who holds a row, whether a send may have reached Slack, retired copies

Delivery settles each row as it is sent and leases rows briefly, renewing while they are in
flight: `leased_by` names the worker holding a row, `unsure_since` marks a row whose last send
may have reached Slack (a timeout, a worker that died), so the next worker looks for it before
posting again. A new kind, `retire_copy`, turns a second copy of a card or case message into a
stub.

A digest week now counts as posted when Slack accepted the digest (`job_runs.finished_at`), not
when it was queued. Runs of earlier releases are brought over: finished when their digest row was
sent (or no row is left to tell), else left open with their rows named, so a failed one can be
sent again.

Revision ID: 5b1e9a7c3d42
Revises: 5b1e9c3d7a42
Create Date: 2026-12-01 01:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.types import UTCDateTime

revision: str = "5b1e9a7c3d42"
down_revision: str | None = "5b1e9c3d7a42"
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
    "ephemeral",  # no longer queued; rows of earlier releases keep it
    "upload",  # likewise
)
NEW_KIND = "retire_copy"

_outbox = sa.table(
    "outbox_messages",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("team_id", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("status", sa.String),
    sa.column("sent_at", UTCDateTime()),
)
_runs = sa.table(
    "job_runs",
    sa.column("id", sa.Integer),
    sa.column("job", sa.String),
    sa.column("key", sa.String),
    sa.column("started_at", UTCDateTime()),
    sa.column("finished_at", UTCDateTime()),
    sa.column("result", sa.JSON),
)


def _kind_check(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("unsure_since", UTCDateTime(), nullable=True))
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kind_check((*KINDS, NEW_KIND)))
    _bring_over_digest_runs()


def _bring_over_digest_runs() -> None:
    connection = op.get_bind()
    digest_rows: dict[str, dict[str, tuple[int, str, object]]] = {}
    query = (
        sa.select(
            _outbox.c.id, _outbox.c.kind, _outbox.c.team_id, _outbox.c.payload, _outbox.c.status, _outbox.c.sent_at
        )
        .where(_outbox.c.kind.in_(("digest", "digest_chart")))
        .order_by(_outbox.c.id)
    )
    for row_id, kind, team_id, payload, status, sent_at in connection.execute(query):
        key = f"{team_id}/{payload['year']}-W{int(payload['week']):02d}"
        digest_rows.setdefault(key, {})[kind] = (row_id, status, sent_at)  # the newest of each kind
    runs = connection.execute(
        sa.select(_runs.c.id, _runs.c.key, _runs.c.started_at).where(
            _runs.c.job == "digest", _runs.c.finished_at.is_(None)
        )
    ).all()
    for run_id, key, started_at in runs:
        rows = digest_rows.get(key, {})
        digest = rows.get("digest")
        values: dict[str, object] = {"result": {"rows": {kind: found[0] for kind, found in rows.items()}}}
        if digest is None or digest[1] == "sent":
            values["finished_at"] = (digest[2] if digest else None) or started_at
        connection.execute(_runs.update().where(_runs.c.id == run_id).values(**values))


def downgrade() -> None:
    op.execute(sa.delete(_outbox).where(_outbox.c.kind == NEW_KIND))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_messages_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_messages_kind"), _kind_check(KINDS))
        batch_op.drop_column("unsure_since")
        batch_op.drop_column("leased_by")
