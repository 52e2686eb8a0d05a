"""`dibs export` (issue 15): a team's data as CSV or JSON lines, streamed in constant memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

import app
from bot import claiming
from bot.export import Dataset, Export, Format, write
from bot.intake import LeadIn, take_lead
from models import AuditEvent, Team
from tests.fixtures_app import AppDriver
from tests.test_escalation import member

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def cli(database_url: str, teams: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    with teams.begin() as session:
        east, west = session.get_one(Team, "east"), session.get_one(Team, "west")
        old = take_lead(session, east, LeadIn(name="Old Lead", email="old@acme.example"), START, "test").lead
        new = take_lead(session, east, LeadIn(name='New, "quoted"', source="web"), START + timedelta(days=10), "t")
        take_lead(session, west, LeadIn(name="West Lead"), START, "test")
        claiming.claim_lead(session, member(session, "U0ALICE"), old.id, START + timedelta(minutes=5))
        assert new.lead.id


def test_leads_as_csv(cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["export", "leads", "--team", "east"]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["lead"], r["name"], r["email"], r["status"]) for r in rows] == [
        ("L-1", "Old Lead", "old@acme.example", "claimed"),
        ("L-2", 'New, "quoted"', "", "open"),
    ], "only east's leads, oldest first, quoting intact"
    assert rows[0]["created_at"].startswith("2026-11-02T15:00:00")
    assert "2 row(s) of leads exported" in err
    assert "exporting leads of east" in err, "the progress bar"


def test_claims_as_json_lines_since_a_date(cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["export", "claims", "--team", "east", "--format", "jsonl"]) == 0
    claims = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(c["lead"], c["rep"], c["how"], c["status"]) for c in claims] == [("L-1", "U0ALICE", "claim", "active")]
    assert app.main(["export", "leads", "--team", "east", "--since", "2026-11-10", "--format", "jsonl"]) == 0
    assert [json.loads(line)["lead"] for line in capsys.readouterr().out.splitlines()] == ["L-2"]


def test_audit_to_a_file(cli: None, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "audit.csv"
    assert app.main(["export", "audit", "--team", "east", "--output", str(target)]) == 0
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert {"lead.created", "lead.owned"} <= {r["action"] for r in rows}
    assert all(json.loads(r["details"]) is not None for r in rows), "details as JSON in one cell"


def test_unknown_team_and_bad_date_say_so(cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["export", "leads", "--team", "north"]) == 2
    assert "north" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        app.main(["export", "leads", "--team", "east", "--since", "last week"])
    assert "'last week' is not a date: write it as YYYY-MM-DD" in capsys.readouterr().err


class Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def _fill_audit(engine: Engine, n: int) -> None:
    row = {"team_id": "east", "at": START, "actor": "dibs", "action": "bench.row", "details": {"n": 1, "x": "y" * 40}}
    with engine.begin() as connection:
        for start in range(0, n, 5000):
            connection.execute(insert(AuditEvent), [row] * min(5000, n - start))


def _peak_export(sessions: sessionmaker[Session]) -> tuple[int, int]:
    tracemalloc.start()
    try:
        with sessions() as session:
            written = write(session, Export(Dataset.AUDIT, "east"), Format.CSV, Discard())
        return written, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_rows(engine: Engine, teams: sessionmaker[Session]) -> None:
    _fill_audit(engine, 2_000)
    small, small_peak = _peak_export(teams)
    _fill_audit(engine, 18_000)
    large, large_peak = _peak_export(teams)
    assert large >= 10 * small - 100
    assert large_peak < 1.5 * small_peak, f"peak {small_peak} bytes at {small} rows, {large_peak} at {large}"


def test_a_manager_gets_the_export_as_a_csv_file_in_their_dm(dibs: AppDriver) -> None:
    for i in range(3):
        dibs.post_lead({"name": f"Lead {i}", "source": "web"})
    answer = dibs.reply_text("export leads", user="U0MGR1")
    assert answer == "Exporting Sales East's leads: the CSV file comes to your DM shortly."
    shared = dibs.slack.wait_for("files.completeUploadExternal", timeout=10)[0]
    assert shared.args["channel_id"] == dibs.slack.dm_with("U0MGR1"), "in the manager's DM"
    assert shared.args["initial_comment"] == "Your export: 3 row(s) of leads."
    (content,) = dibs.slack.uploads.values()
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [(r["lead"], r["name"], r["source"]) for r in rows] == [(f"L-{i + 1}", f"Lead {i}", "web") for i in range(3)]


def test_export_is_for_managers_and_says_what_it_takes(dibs: AppDriver) -> None:
    assert "managers" in dibs.reply_text("export", user="U0ALICE").lower()
    assert dibs.reply_text("export everything", user="U0MGR1").startswith(
        "everything is neither leads, claims, disputes, audit nor a date like 2026-11-01"
    )
    assert dibs.reply_text("export claims 2026-11-20", user="U0MGR1") == (
        "Exporting Sales East's claims since 2026-11-20: the CSV file comes to your DM shortly."
    )
    shared = dibs.slack.wait_for("files.completeUploadExternal", timeout=10)[0]
    assert shared.args["initial_comment"] == "Your export: 0 row(s) of claims since 2026-11-20."
