"""Leads and credit go to reps only, end to end: what a manager types, clicks or submits in Slack
to take a lead or a share for a manager is refused with the rule, and nothing changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.leads import owning_claim
from models import CreditShare, Dispute, Member, OutboxMessage
from tests.fixtures_app import AppDriver
from tests.test_claims_e2e import announce, card_shows
from tests.test_mediation_e2e import click, open_dispute
from tests.test_reps_only import made_manager


def holdings(dibs: AppDriver) -> tuple[Any, ...]:
    """Who owns L-1, its credit, D-1's state and how many messages were queued."""
    with dibs.runtime.sessions() as session:
        owner = owning_claim(session, 1)
        shares = session.execute(
            select(Member.slack_user_id, CreditShare.percent).join(CreditShare, CreditShare.member_id == Member.id)
        ).all()
        dispute = session.get(Dispute, 1)
        return (
            owner.member.slack_user_id if owner else None,
            sorted(shares),
            (dispute.status, dispute.outcome) if dispute else None,
            session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def test_a_manager_assigning_a_held_lead_to_himself_is_told_the_rule(dibs: AppDriver) -> None:
    ref = announce(dibs)
    assert dibs.reply_text(f"claim {ref}", user="U0ALICE").startswith(f"{ref} is yours.")
    card_shows(dibs, "Claimed by <@U0ALICE>")
    before = holdings(dibs)
    assert before[:2] == ("U0ALICE", [("U0ALICE", 100)])
    answer = dibs.reply_text(f"assign {ref} <@U0MGR1|boss> mine now", user="U0MGR1")
    assert answer == f"You are a manager, and leads go to reps only: give {ref} to a rep."
    assert holdings(dibs) == before, "nothing changed, nothing queued"


def test_a_mediator_splitting_with_himself_by_command_is_told_the_rule(dibs: AppDriver) -> None:
    ref = open_dispute(dibs)
    before = holdings(dibs)
    answer = dibs.reply_text("resolve D-1 split <@U0MGR1|me> 60 <@U0BOB|bob> 40", user="U0MGR1")
    assert answer == f"You are mediating D-1, and a mediator is never a split partner: split {ref} between reps."
    assert holdings(dibs) == before and before[2] == ("open", None)


def test_the_split_form_refuses_the_mediator_as_a_partner(dibs: AppDriver) -> None:
    ref = open_dispute(dibs)
    click(dibs, "U0MGR1", "dispute_split", "1")
    dibs.slack.wait_for("views.open")
    before = holdings(dibs)
    values = {
        "partner_0": {"value": {"type": "users_select", "selected_user": "U0MGR1"}},
        "percent_0": {"value": {"type": "number_input", "value": "60"}},
        "partner_1": {"value": {"type": "users_select", "selected_user": "U0BOB"}},
        "percent_1": {"value": {"type": "number_input", "value": "40"}},
    }
    answer = dibs.submit_view("U0MGR1", "dispute_split_form", values, private_metadata="1")
    said = f"You are mediating D-1, and a mediator is never a split partner: split {ref} between reps."
    assert answer.json() == {"response_action": "errors", "errors": {"percent_0": said}}
    assert holdings(dibs) == before


def test_the_reassign_form_refuses_the_mediator_himself(dibs: AppDriver) -> None:
    ref = open_dispute(dibs)
    click(dibs, "U0MGR1", "dispute_reassign", "1")
    dibs.slack.wait_for("views.open")
    before = holdings(dibs)
    values = {"rep": {"value": {"type": "users_select", "selected_user": "U0MGR1"}}}
    answer = dibs.submit_view("U0MGR1", "dispute_reassign_form", values, private_metadata="1")
    said = f"You are mediating D-1, and leads go to reps only: give {ref} to a rep."
    assert answer.json() == {"response_action": "errors", "errors": {"rep": said}}
    assert holdings(dibs) == before


def test_the_award_button_of_a_party_made_manager_is_refused(dibs: AppDriver) -> None:
    ref = open_dispute(dibs)
    made_manager(dibs.runtime.sessions, "U0BOB")  # `dibs config apply` while D-1 is open
    before = holdings(dibs)
    click(dibs, "U0MGR1", "dispute_award:U0BOB", "1:U0BOB")
    said = f"<@U0BOB> is a manager, and leads go to reps only: give {ref} to a rep."
    assert dibs.answers_to("U0MGR1") == [said]
    after = holdings(dibs)
    assert after[:3] == before[:3] and after[3] == before[3] + 1, "only the answer was queued"
