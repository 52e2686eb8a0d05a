"""`/dibs limits preview KEY VALUE` end to end: a manager's signed command is acknowledged at once,
the replay runs in the worker, and the comparison arrives by the command's response_url."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from models import OutboxKind, OutboxMessage, Team
from tests.fixtures_app import AppDriver
from tests.test_claims_e2e import announce

NEXT_TUESDAY = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # the week after the recorded one


def _previews_queued(dibs: AppDriver) -> int:
    with dibs.runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == OutboxKind.LIMITS_PREVIEW)
            )
            or 0
        )


def _limits(dibs: AppDriver) -> tuple[dict[str, object], dict[str, object]]:
    with dibs.runtime.sessions() as session:
        team = session.get_one(Team, "east")
        return dict(team.limits), dict(team.limit_overrides)


def test_a_manager_previews_a_limit_on_the_last_weeks(dibs: AppDriver) -> None:
    """Four leads on Monday 23 November, Alice clicks each first (no fair start, 5 active claims).

    Fair shares of 4 leads by weight (Alice 1, Bob 1, Carol 2, all there from the same moment): 1, 1, 2.
    Now: Alice 4, Bob 0, Carol 0 → ratios 4, 0, 0; Gini = Σ|rᵢ−rⱼ| / (2n·Σr) = 16 / 24 = 0.667,
    Jain = 16 / (3 · 16) = 0.333, worst 0.00, all rep-chosen.
    With max_active_claims 1 Alice keeps only the first; the others are auto-assigned to whoever is
    furthest below fair share and may hold another: Carol one, Bob one, and the fourth nobody (each
    holds an open lead; none closed) → ratios 1, 1, 0.5; Gini = (0.5 + 0.5) · 2 / (2·3·2.5) = 0.133,
    Jain = 2.5² / (3 · 2.25) = 0.926, worst 0.50; one of the three owned leads rep-chosen.
    """
    refs = [announce(dibs, name=f"Lead {i}") for i in range(4)]
    for ref in refs:
        assert dibs.click_claim(ref, "U0ALICE").status == 200
    dibs.answers_to("U0ALICE", count=4)
    before = _limits(dibs)
    dibs.clock.jump_to(NEXT_TUESDAY)

    ack = dibs.reply_text("limits preview max_active_claims 1", user="U0MGR1")

    assert ack == (
        "Replaying Sales East's last 4 weeks with `max_active_claims` = 1: working on it, "
        "the comparison comes here shortly. Nothing is changed."
    )
    (answer,) = dibs.answers_to("U0MGR1", count=1, timeout=60)
    assert answer.startswith(
        "Preview of `max_active_claims` = 1 (now 5) for Sales East: the last 4 complete weeks, 4 lead(s), "
        "replayed under both. Nothing was changed. Gini 0.667 now, 0.133 with `max_active_claims` = 1; "
        "rep-chosen 100% now, 33%."
    )
    (sent,) = [call for call in dibs.slack.responses_to("U0MGR1") if call.args["text"] == answer]
    now, proposed = (field["text"] for field in sent.args["blocks"][1]["fields"])
    assert now.splitlines()[:5] == ["*Now (5)*", "Gini: 0.667", "Jain: 0.333", "worst ratio: 0.00", "rep-chosen: 100%"]
    assert proposed.splitlines()[:5] == [
        "*Proposed (1)*",
        "Gini: 0.133",
        "Jain: 0.926",
        "worst ratio: 0.50",
        "rep-chosen: 33%",
    ]
    assert sent.args["response_type"] == "ephemeral"
    assert _limits(dibs) == before, "a preview changes no limit"


def test_preview_refuses_reps_unknown_limits_and_bad_values_and_queues_nothing(dibs: AppDriver) -> None:
    assert "managers" in dibs.reply_text("limits preview max_active_claims 1", user="U0ALICE").lower()
    unknown = dibs.reply_text("limits preview <!channel> 3", user="U0MGR1")
    assert unknown.startswith("'&lt;!channel&gt;' is not a limit; the limits are: ")
    assert "max_active_claims input should be greater than or equal to 0" in dibs.reply_text(
        "limits preview max_active_claims -2", user="U0MGR1"
    )
    assert "<!channel>" not in dibs.reply_text("limits preview max_share_ratio <!channel>", user="U0MGR1")
    assert dibs.reply_text("limits preview max_active_claims", user="U0MGR1").startswith(
        "Say `limits` to see them, `limits set KEY VALUE` to change one or `limits preview KEY VALUE`"
    )
    assert _previews_queued(dibs) == 0
