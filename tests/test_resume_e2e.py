"""`/dibs resume`: a paused rep (missed contact SLAs) takes auto-assigned leads again (signed commands)."""

from __future__ import annotations

from sqlalchemy import select

from models import Member
from tests.fixtures_app import AppDriver


def paused(dibs: AppDriver, uid: str, pause: bool | None = None) -> bool:
    with dibs.runtime.sessions.begin() as session:
        rep = session.scalars(select(Member).where(Member.slack_user_id == uid)).one()
        if pause:
            rep.paused_at = dibs.clock()
        return rep.paused_at is not None


def test_a_rep_or_a_manager_resumes_a_paused_rep_and_nobody_else(dibs: AppDriver) -> None:
    paused(dibs, "U0ALICE", pause=True)
    assert (
        dibs.reply_text("resume <@U0ALICE|alice>", user="U0BOB") == "`/dibs resume @rep` is for managers of the team."
    )
    assert paused(dibs, "U0ALICE")
    assert dibs.reply_text("resume", user="U0ALICE") == "<@U0ALICE> gets auto-assigned leads again."
    assert not paused(dibs, "U0ALICE")
    paused(dibs, "U0BOB", pause=True)
    assert dibs.reply_text("resume <@U0BOB|bob>", user="U0MGR1") == "<@U0BOB> gets auto-assigned leads again."
    assert dibs.reply_text("resume", user="U0BOB") == "<@U0BOB> was not paused."
    assert dibs.reply_text("resume <@U0WREP|w>", user="U0MGR1") == "<@U0WREP> is not in your team."
