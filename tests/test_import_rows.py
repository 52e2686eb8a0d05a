"""CSV rows the reader cannot match to the header, and oversize cells (issue 10): each is reported
by its line and skipped, and every other row is kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import app
from models import Lead
from tests.test_import_cli import cli  # noqa: F401  (fixture)

HEADER = "name,email,company\n"


def imported(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Lead.name).order_by(Lead.id)))


def run_import(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    leads = tmp_path / "leads.csv"
    leads.write_text(text, encoding="utf-8")
    code = app.main(["import", str(leads), "--team", "east"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out.splitlines()


def test_rows_with_too_many_or_too_few_fields_are_reported_and_the_rest_kept(
    cli: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = (
        "Ann,ann@x.example,Acme, Inc\n"  # line 2: a comma in an unquoted company
        "Bob,bob@y.example,Globex\n"  # line 3: good
        "Cy,cy@z.example\n"  # line 4: one field short
        'Di,di@w.example,"Initech, Inc"\n'  # line 5: good, quoted
    )
    code, lines = run_import(tmp_path, HEADER + rows, capsys)
    assert code == 1
    assert lines == [
        "line 2: has 4 fields where the header has 3; quote values that hold commas",
        "line 4: has 2 fields where the header has 3",
        "2 lead(s) added, 0 already there, 2 row(s) refused",
    ]
    assert imported(cli) == ["Bob", "Di"]


def test_an_oversize_cell_is_reported_by_its_line_not_as_a_broken_file(
    cli: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    big = "x" * 200_000
    rows = f'Ann,ann@x.example,Acme\nBob,bob@y.example,"{big}\n{big}"\nCy,cy@z.example,Globex\n'
    code, lines = run_import(tmp_path, HEADER + rows, capsys)
    assert code == 1
    assert lines == [
        "line 3: company String should have at most 200 characters",
        "2 lead(s) added, 0 already there, 1 row(s) refused",
    ]
    assert imported(cli) == ["Ann", "Cy"]


def test_control_characters_in_a_cell_are_reported_by_line(
    cli: sessionmaker[Session],  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, lines = run_import(tmp_path, HEADER + "Ann\x00,ann@x.example,Acme\nBob,bob@y.example,Globex\n", capsys)
    assert (code, lines[0]) == (1, "line 2: name may not contain control characters")
    assert imported(cli) == ["Bob"]
