"""Outcomes from the CRM (`POST /api/leads/{external_id}/events`): the same rules as the Slack
commands, shown on the card and in the digest; a replayed event changes nothing."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from models import AuditEvent, OutboxMessage
from tests.fixtures_app import EAST_TOKEN, AppDriver, Response
from tests.test_claims_e2e import card_shows


def post_event(dibs: AppDriver, external_id: str, event: dict[str, Any], token: str = EAST_TOKEN) -> Response:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return dibs.request("POST", f"/api/leads/{external_id}/events", json.dumps(event).encode(), headers)


def claimed_lead(dibs: AppDriver, external_id: str = "0031x00000AbCdE") -> str:
    created = dibs.post_lead({"name": "Jane Doe", "company": "Acme Corp", "external_id": external_id})
    ref = created.json()["id"]
    assert dibs.reply_text(f"claim {ref}").startswith(f"{ref} is yours.")
    return str(ref)


def digest_preview(dibs: AppDriver) -> str:
    """The week's digest as a manager previews it (its blocks, as text)."""
    preview = dibs.command("digest preview 2026-W48", user="U0MGR1").json()
    return json.dumps(preview["blocks"], ensure_ascii=False)


def changes(dibs: AppDriver) -> tuple[int, int]:
    with dibs.runtime.sessions() as session:
        audit = session.scalar(select(func.count()).select_from(AuditEvent))
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
        return audit or 0, queued or 0


def test_a_won_from_the_crm_shows_on_the_card_and_in_the_digest_and_a_replay_changes_nothing(
    dibs: AppDriver,
) -> None:
    ref = claimed_lead(dibs)
    won = {"event_id": "evt-1", "type": "won", "amount": 12500}
    first = post_event(dibs, "0031x00000AbCdE", won)
    assert (first.status, first.json()) == (200, {"event_id": "evt-1", "lead": ref, "type": "won", "result": "applied"})
    card_shows(dibs, "Won by <@U0ALICE> · $12,500")
    assert "won 1 ($12,500)" in digest_preview(dibs)

    before = changes(dibs)
    again = post_event(dibs, "0031x00000AbCdE", won)
    assert (again.status, again.json()) == (200, first.json())
    assert changes(dibs) == before, "a replay writes nothing and sends nothing"
    assert "won 1 ($12,500)" in digest_preview(dibs)


def test_contacted_and_lost_follow_the_slack_rules(dibs: AppDriver) -> None:
    ref = claimed_lead(dibs)
    assert post_event(dibs, "0031x00000AbCdE", {"event_id": "c1", "type": "contacted"}).status == 200
    card_shows(dibs, "contacted")
    twice = post_event(dibs, "0031x00000AbCdE", {"event_id": "c2", "type": "contacted"})
    assert twice.status == 409 and twice.json()["refusal"]["why"] == "already_contacted"
    lost = post_event(dibs, "0031x00000AbCdE", {"event_id": "l1", "type": "lost", "reason": "went with a rival"})
    assert lost.status == 200
    assert dibs.reply_text(f"won {ref}") == f"{ref} is closed."  # closed in Slack too


def test_an_owner_changed_in_the_crm_moves_the_lead_and_an_echo_changes_nothing(dibs: AppDriver) -> None:
    ref = claimed_lead(dibs)
    moved = post_event(dibs, "0031x00000AbCdE", {"event_id": "o1", "type": "owner_changed", "owner": "U0BOB"})
    assert moved.json()["result"] == "applied"
    why = dibs.reply_text(f"why {ref}")
    assert why.startswith(f"{ref} was assigned to <@U0BOB> in the team's CRM."), why
    assert "MGR" not in why, "no manager decided it, so none is named"
    assert dibs.message_to("U0BOB", f"{ref} was assigned to you in the CRM.")
    assert dibs.message_to("U0ALICE", f"{ref} was reassigned to <@U0BOB> in the CRM.")
    before = changes(dibs)
    echo = post_event(dibs, "0031x00000AbCdE", {"event_id": "o2", "type": "owner_changed", "owner": "U0BOB"})
    assert echo.json()["result"] == "unchanged" and changes(dibs)[1] == before[1]


def test_an_owner_change_for_a_lead_in_dispute_is_left_to_its_mediator(dibs: AppDriver) -> None:
    ref = claimed_lead(dibs)
    assert "D-1" in dibs.reply_text(f"contest {ref} we met them last week", user="U0BOB")
    before = changes(dibs)
    refused = post_event(dibs, "0031x00000AbCdE", {"event_id": "o1", "type": "owner_changed", "owner": "U0BOB"})
    assert refused.status == 409
    assert refused.json()["errors"]["event"] == f"{ref} is in dispute (D-1): its mediator decides the owner in Slack."
    assert changes(dibs) == before, "nothing changed, and the event id stays free for a retry"


def test_bad_events_are_refused_by_field_and_change_nothing(dibs: AppDriver) -> None:
    claimed_lead(dibs)
    before = changes(dibs)
    cases: list[tuple[dict[str, Any], int, dict[str, str] | None]] = [
        ({"type": "won"}, 422, {"event_id": "Field required"}),
        ({"event_id": "x", "type": "sold"}, 422, None),
        ({"event_id": "x", "type": "lost", "amount": 5}, 422, {"body": "amount is only for won"}),
        ({"event_id": "x", "type": "owner_changed", "owner": "<!channel>"}, 422, None),
        ({"event_id": "x", "type": "won", "note": "hi"}, 422, {"note": "is not a lead field"}),
    ]
    for body, status, errors in cases:
        answer = post_event(dibs, "0031x00000AbCdE", body)
        assert answer.status == status, (body, answer.text)
        if errors is not None:
            assert answer.json()["errors"] == errors, answer.text
    assert post_event(dibs, "nope", {"event_id": "x", "type": "won"}).status == 404
    assert post_event(dibs, "0031x00000AbCdE", {"event_id": "x", "type": "won"}, token="west-token-456").status == 404
    assert post_event(dibs, "0031x00000AbCdE", {"event_id": "x", "type": "won"}, token="wrong").status == 401
    assert changes(dibs) == before


def test_the_same_event_delivered_twice_at_once_is_applied_once(dibs: AppDriver) -> None:
    claimed_lead(dibs)
    won = {"event_id": "evt-race", "type": "won", "amount": 900}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post_event(dibs, "0031x00000AbCdE", won), range(4)))
    assert {answer.status for answer in answers} == {200}
    assert {answer.json()["result"] for answer in answers} == {"applied"}  # replays get the first answer
    with dibs.runtime.sessions() as session:
        closed = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "lead.won"))
    assert closed == 1
