"""`dibs import FILE --team T` (DESIGN §4): the CSV path into the same intake as the webhook."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import app
from models import Lead, OutboxMessage

HEADER = "external_id,name,email,company,score,notes\n"
ROWS = (
    "r1,Ann Lee,ann@acme.com,Acme,50,\n"  # line 2: good
    "r2,Bob Roe,bob@nope,Bob Co,10,\n"  # line 3: bad email
    'r3,Cy Poe,cy@globex.com,Globex,200,"met at the fair,\nwants a call"\n'  # lines 4-5: bad score
    ",Di Ng,di@initech.com,Initech,,\n"  # line 6: good, no external_id
    "r5,,e@example.com,,,\n"  # line 7: no name
)


@pytest.fixture
def cli(
    teams: sessionmaker[Session], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    """The command line pointed at the test database holding the sample teams."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env
    return teams


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        leads = session.scalar(select(func.count()).select_from(Lead))
        messages = session.scalar(select(func.count()).select_from(OutboxMessage))
    return leads or 0, messages or 0


def test_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(
    cli: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(HEADER + ROWS)

    assert app.main(["import", str(leads), "--team", "east"]) == 1
    out, err = capsys.readouterr()
    assert "importing into east" in err and "5/5" in err, "progress goes to stderr"
    assert out.splitlines() == [
        "line 3: email is not an email address",
        "line 4: score Input should be less than or equal to 100",
        "line 7: name Input should be a valid string",
        "2 lead(s) added, 0 already there, 3 row(s) refused",
    ]
    with cli() as session:
        query = select(Lead.name, Lead.team_id, Lead.account_key).order_by(Lead.id)
        stored = session.execute(query).tuples().all()
    assert stored == [("Ann Lee", "east", "acme.com"), ("Di Ng", "east", "initech.com")]
    assert counts(cli) == (2, 2), "each imported lead is announced once"

    assert app.main(["import", str(leads), "--team", "east"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == ("0 lead(s) added, 2 already there, 3 row(s) refused")
    assert counts(cli) == (2, 2), "running the file again creates nothing"


def test_a_clean_file_exits_zero(
    cli: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "clean.csv"
    leads.write_text("Name,Email,Tags\nAnn Lee,ann@acme.com,vip;webinar\n")

    assert app.main(["import", str(leads), "--team", "west"]) == 0
    assert capsys.readouterr().out == "1 lead(s) added, 0 already there, 0 row(s) refused\n"
    with cli() as session:
        lead = session.scalars(select(Lead)).one()
    assert (lead.team_id, lead.tags) == ("west", ["vip", "webinar"])


def test_an_unknown_column_refuses_the_whole_file(
    cli: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "colours.csv"
    leads.write_text("name,email,colour\nAnn Lee,ann@acme.com,red\n")

    assert app.main(["import", str(leads), "--team", "east"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "unknown column(s) colour" in err
    assert counts(cli) == (0, 0)


def test_a_missing_file_is_one_clear_line(
    cli: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"

    assert app.main(["import", str(missing), "--team", "east"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"dibs: {missing}: cannot read (No such file or directory)\n"


def test_an_unknown_team_is_refused_before_reading(
    cli: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text(HEADER + ROWS)

    assert app.main(["import", str(leads), "--team", "north"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dibs: ") and "north" in err and err.count("\n") == 1
    assert counts(cli) == (0, 0)
