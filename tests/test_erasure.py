"""Erasure and retention (issue 15): `dibs forget` leaves nothing of the person in any table,
shows "(removed)" on their cards in Slack, keeps the counts, and records only that it happened."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, String, Text, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import JSON

import app
from bot import outbox, scheduler
from bot.config import parse_config
from bot.errors import ConfigError
from bot.intake import LeadIn, take_lead
from bot.teams import apply_config
from models import AuditEvent, Base, Claim, Lead, LeadCard, LeadStatus, Team
from tests.conftest import TEAM_TOML
from tests.fixtures_app import AppDriver, eventually
from tests.test_roles_cluster import outbox_settled

NAME = "Jane Quartermaine"
EMAIL = "jane.q@acme-rockets.example"
PHONE = "+1 415 555 0199"
START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TRACES = [NAME, "Quartermaine", EMAIL, "jane.q@", PHONE, "4155550199", "555 0199"]


def traces_in_database(engine: Engine) -> list[str]:
    """Every text value of every table that holds a trace of the person, as table.column: value."""
    found = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in connection.execute(select(*texts)) if texts else []:
                for column, value in zip(texts, row, strict=True):
                    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    if any(t.lower() in shown.lower() for t in TRACES):
                        found.append(f"{table.name}.{column.name}: {shown[:120]}")
    return found


def test_forget_an_email_leaves_nothing_of_the_person(
    dibs: AppDriver, engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    lead = {"name": NAME, "email": EMAIL, "phone": PHONE, "company": "Acme Rockets", "notes": f"ask for {NAME}"}
    ref = dibs.post_lead(lead).json()["id"]
    assert dibs.click_claim(ref, "U0ALICE").status == 200
    dibs.reply_text(f"release {ref} {NAME} wants a Spanish speaker", user="U0ALICE")  # a stub with the reason
    dibs.reply_text(f"assign {ref} <@U0BOB> {NAME} asked for Bob", user="U0MGR1")  # a reason naming them
    with dibs.runtime.sessions.begin() as session:  # a message naming them, as any feature may send
        outbox.post(session, dibs.clock(), "U0ALICE", f"Remember {NAME}, {PHONE}")
    assert eventually(lambda: outbox_settled(engine), timeout=10)
    assert traces_in_database(engine), "the person is in the database before"
    updates_before = len(dibs.slack.calls_to("chat.update"))

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(app, "utc_now", dibs.clock)  # the app's stepping time, not today's
    assert app.main(["forget", "--email", EMAIL.upper()]) == 0
    assert "erased the contact details of 1 lead(s)" in capsys.readouterr().out
    assert eventually(lambda: outbox_settled(engine), timeout=10)

    assert traces_in_database(engine) == []
    updates = {call.args["ts"]: call for call in dibs.slack.calls_to("chat.update")[updates_before:]}
    with engine.connect() as connection:
        posted = set(connection.scalars(select(LeadCard.ts).where(LeadCard.ts.is_not(None))))
    assert posted and set(updates) == posted, "every message showing one of its cards rendered again"
    for update in updates.values():
        shown = json.dumps(update.args.get("blocks")) + update.args.get("text", "")
        assert "(removed)" in shown and "Quartermaine" not in shown
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Lead)) == 1, "the lead still counts"
        assert connection.scalar(select(func.count()).select_from(Claim)) == 2, "so do its claims"
        stored = connection.execute(select(Lead.name, Lead.status, Lead.company)).one()
        assert tuple(stored) == ("(removed)", LeadStatus.CLAIMED, "Acme Rockets")
        erased = connection.execute(select(AuditEvent.action, AuditEvent.details).where(AuditEvent.actor == "cli"))
        assert [tuple(e) for e in erased] == [("lead.contact_erased", {})], "that it happened, not what"


def test_forget_one_lead_by_reference(
    teams: sessionmaker[Session], engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    now = START
    with teams.begin() as session:
        east = session.get_one(Team, "east")
        kept = take_lead(session, east, LeadIn(name="Kept Person", email="kept@example.org"), now, "test").lead.id
        gone = take_lead(session, east, LeadIn(name=NAME, email=EMAIL, phone=PHONE), now, "test").lead.id
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert app.main(["forget", "--lead", f"L-{gone}"]) == 0
    assert traces_in_database(engine) == []
    with teams() as session:
        assert session.get_one(Lead, kept).email == "kept@example.org", "nobody else is touched"
    assert app.main(["forget", "--lead", "L-999999"]) == 2
    assert "no lead L-999999" in capsys.readouterr().err


def test_retention_erases_closed_leads_older_than_the_teams_days(teams: sessionmaker[Session], engine: Engine) -> None:
    now = START
    with teams.begin() as session:
        east = session.get_one(Team, "east")
        east.contact_retention_days = 30
        leads = {}
        for label, status, closed_days_ago in (
            ("old", LeadStatus.WON, 31),
            ("recent", LeadStatus.LOST, 10),
            ("open", LeadStatus.OPEN, None),
        ):
            lead = take_lead(
                session,
                east,
                LeadIn(name=f"{label} person", email=f"{label}@example.org"),
                now - timedelta(days=60),
                "t",
            ).lead
            lead.status = status
            lead.closed_at = now - timedelta(days=closed_days_ago) if closed_days_ago else None
            leads[label] = lead.id
        west = take_lead(
            session, session.get_one(Team, "west"), LeadIn(name="West Old", email="w@example.org"), now, "t"
        )
        west.lead.status, west.lead.closed_at = LeadStatus.WON, now - timedelta(days=400)  # west keeps contacts
    scheduler.run_due(teams, now)
    with teams() as session:
        emails = {label: session.get_one(Lead, lead_id).email for label, lead_id in leads.items()}
        assert emails == {"old": None, "recent": "recent@example.org", "open": "open@example.org"}
        assert session.get_one(Lead, leads["old"]).name == "(removed)"
        assert session.get_one(Lead, west.lead.id).email == "w@example.org"
    scheduler.run_due(teams, now + timedelta(days=21))
    with teams() as session:
        assert session.get_one(Lead, leads["recent"]).email is None, "its 30 days are up"
        erasures = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "lead.contact_erased")
        )
        assert erasures == 2, "each lead erased once"


def test_retention_is_set_per_team_in_the_config(sessions: sessionmaker[Session]) -> None:
    toml = TEAM_TOML + "\n[teams.east.retention]\ncontact_days = 90\n"
    with sessions.begin() as session:
        apply_config(session, parse_config(toml), START)
    with sessions() as session:
        assert session.get_one(Team, "east").contact_retention_days == 90
        assert session.get_one(Team, "west").contact_retention_days is None, "kept unless a team says"
    with pytest.raises(ConfigError, match="contact_days"):
        parse_config(TEAM_TOML + "\n[teams.east.retention]\ncontact_days = 0\n")
