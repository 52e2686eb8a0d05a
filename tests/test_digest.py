"""The weekly fairness digest (DESIGN §9): contents, schedule, once-only runs, chart and message."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time
from matplotlib import image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.digest import (
    Digest,
    DisputeSummary,
    LeadSummary,
    RepDigest,
    compute_digest,
    due_digest_week,
    take_digest_run,
)
from bot.errors import InvalidInput
from bot.fairness import Flag
from handlers.blocks import HEADER_TEXT_MAX, MESSAGE_BLOCKS_MAX, SECTION_TEXT_MAX
from handlers.chart import chart_alt_text, fairness_chart
from handlers.digest_view import digest_message, digest_text
from infra.db import session_factory
from models import AuditEvent, Claim, ClaimStatus, Dispute, DisputeParty, JobRun, Member, Team
from tests.test_fairness import (
    NY,
    W46_END,
    W46_START,
    local,
    make_away,
    make_claim,
    make_lead,
    make_member,
    make_team,
)
from tests.wording import refusal

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
AFTER_W46 = local(23, 9)  # the Monday after next: the week is long over


def make_dispute(
    session: Session,
    lead_id: int,
    parties: list[Member],
    opened: datetime,
    resolved: datetime | None = None,
    outcome: str | None = None,
) -> None:
    dispute = Dispute(
        team_id="t",
        lead_id=lead_id,
        kind="same_lead",
        opened_at=opened,
        status="resolved" if resolved else "open",
        resolved_at=resolved,
        outcome=outcome,
    )
    session.add(dispute)
    session.flush()
    for member in parties:
        session.add(DisputeParty(dispute_id=dispute.id, member_id=member.id, claimed_at=opened))
    session.flush()


def refused(session: Session, member: Member, at: datetime, action: str = "claim.refused_limit") -> None:
    session.add(
        AuditEvent(
            team_id="t",
            at=at,
            actor=member.slack_user_id,
            action=action,
            details={"member_id": member.id, "reason": "limit"},
        )
    )


def contact_after(claim: Claim, *, minutes: int) -> None:
    """Marks a started claim contacted `minutes` after it started."""
    assert claim.started_at is not None
    claim.contacted_at = claim.started_at + timedelta(minutes=minutes)


def build_week_46(session: Session) -> dict[str, Member]:
    """A week with a split, an away rep, a mid-week joiner, disputes, wins and every flag."""
    team = make_team(session)
    alice = make_member(session, team, "UALICE")
    bob = make_member(session, team, "UBOB")
    carol = make_member(session, team, "UCAROL", weight=2.0)
    dave = make_member(session, team, "UDAVE", joined_at=local(13, 0))  # joins Fri 00:00
    make_member(session, team, "UEVE", left_at=local(1, 0))  # gone before both weeks
    manager = make_member(session, team, "UMGR", role="manager")
    make_away(session, bob, local(9, 0), local(12, 0))  # away Mon–Wed

    # Last week (W45): one lead each for Alice and Carol, settled this week.
    prev_a = make_lead(session, team, local(4), score=70, source="web", credit={alice: 100})
    make_claim(session, prev_a, alice, status="won", ended_at=local(10, 15), amount=Decimal(300))
    make_dispute(session, prev_a.id, [alice, bob], local(5, 10), local(17, 10), "award")
    prev_c = make_lead(session, team, local(5), score=70, source="web", credit={carol: 100})
    make_claim(session, prev_c, carol, how="auto", status="expired", ended_at=local(9, 3))
    make_claim(session, prev_c, carol, how="auto")
    make_dispute(session, prev_c.id, [carol, alice], local(6, 10), local(9, 10), "award")

    # Alice: 11 web leads (score 50) she claimed; contacted after 10, 20, 60 min; two won.
    for i in range(11):
        lead = make_lead(session, team, local(9 + i % 5, 10), score=50, source="web", credit={alice: 100})
        claim = make_claim(session, lead, alice)
        if i < 3:
            contact_after(claim, minutes=(10, 20, 60)[i])
        if i in (3, 4):
            claim.status, claim.ended_at = ClaimStatus.WON, lead.created_at + timedelta(days=1)
            claim.amount = Decimal((1000, 500)[i - 3])
    # A web lead (score 100) both claimed on Friday, split 40/60 by a mediator, then won.
    split = make_lead(session, team, local(13, 9), score=100, source="web", credit={alice: 40, dave: 60})
    make_claim(session, split, alice, status="won", ended_at=local(14), amount=Decimal(2000))
    make_claim(session, split, dave, status="declined", started=False)
    make_dispute(session, split.id, [alice, dave], local(13, 10), local(13, 14), "split")

    # Bob, back on Thursday: 4 referral leads (score 95), one disputed by Carol and awarded
    # to him; a fifth (web, 95) he let expire.
    for i in range(4):
        lead = make_lead(session, team, local(12 + i % 2, 8), score=95, source="referral", credit={bob: 100})
        claim = make_claim(session, lead, bob)
        if i < 2:
            contact_after(claim, minutes=(30, 90)[i])
        if i == 0:
            make_claim(session, lead, carol, status="declined", started=False)
            make_dispute(session, lead.id, [bob, carol], local(12, 9), local(12, 10), "award")
    expired = make_lead(session, team, local(12, 11), score=95, source="web")
    make_claim(session, expired, bob, status="expired", ended_at=local(12, 13))

    # Carol: 6 csv leads (score 20), all auto-assigned.
    for i in range(6):
        lead = make_lead(session, team, local(9 + i, 11), score=20, source="csv", credit={carol: 100})
        make_claim(session, lead, carol, how="auto")
    # Dave: 2 unscored leads without a source, assigned by a manager.
    for day in (13, 14):
        lead = make_lead(session, team, local(day, 15), credit={dave: 100})
        make_claim(session, lead, dave, how="assign")
    # Three web leads (score 10) nobody took; one is in a dispute still open.
    for i in range(3):
        lead = make_lead(session, team, local(15, 8), score=10, source="web")
        if i == 0:
            make_dispute(session, lead.id, [carol, alice], local(15, 10))

    for at in (local(13, 9), local(14, 9), local(15, 9)):
        refused(session, dave, at)
    for at in (local(12, 9), local(12, 10), local(6, 9)):  # the last is in the week before
        refused(session, bob, at)
    refused(session, dave, local(14, 10), action="claim.requested")
    return {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "manager": manager}


def test_digest_by_hand(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        members = build_week_46(session)
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    assert (digest.start, digest.end, digest.as_of) == (W46_START, W46_END, W46_END)
    assert digest.partial is False and digest.label == "2026-W46"

    # Leads in: Alice 11 + split 1 + Bob 4 + expired 1 + Carol 6 + Dave 2 + untaken 3 = 28.
    # Claimed (claim/assign with an owner): 11 + 1 + 4 + 1 + 2 = 19; auto 6; expired 1.
    # Scores: 550 + 100 + 380 + 95 + 120 + 30 = 1275 over 26 scored leads: mean 49.04.
    assert digest.leads == LeadSummary(
        total=28,
        by_source={"web": 16, "csv": 6, "referral": 4, "unknown": 2},
        claimed=19,
        auto_assigned=6,
        expired=1,
        mean_score=digest.leads.mean_score,
    )
    assert digest.leads.mean_score == pytest.approx(1275 / 26)

    # e: Alice 1, Bob 4/7 (away 3 of 7 days), Carol 2 (weight), Dave 3/7 (joined Friday); Σe = 4.
    # f = 28·e/4 = 7, 4, 14, 3.  c: Alice 11 + 0.4 = 11.4, Bob 4, Carol 6, Dave 2 + 0.6 = 2.6.
    # r = 11.4/7 = 1.629, 1, 6/14 = 0.429, 2.6/3 = 0.867.
    # Quality: f_q = 1275·e/4 = 318.75, 182.14, 637.5, 136.61; credited score: Alice
    # 550 + 0.4·100 = 590, Bob 4·95 = 380, Carol 6·20 = 120, Dave 0.6·100 + 2·0 = 60.
    rows = {r.slack_user_id: r for r in digest.reps}
    assert [r.slack_user_id for r in digest.reps] == ["UCAROL", "UDAVE", "UBOB", "UALICE"]
    expected = {
        # credited, fair, ratio, quality ratio
        "UALICE": (11.4, 7, 11.4 / 7, 590 / 318.75),
        "UBOB": (4, 4, 1, 380 / (1275 * 4 / 7 / 4)),
        "UCAROL": (6, 14, 6 / 14, 120 / 637.5),
        "UDAVE": (2.6, 3, 2.6 / 3, 60 / (1275 * 3 / 7 / 4)),
    }
    for uid, numbers in expected.items():
        row = rows[uid]
        got = (row.credited, row.fair_share, row.ratio, row.quality_ratio)
        assert got == pytest.approx(numbers)

    alice, bob, carol, dave = rows["UALICE"], rows["UBOB"], rows["UCAROL"], rows["UDAVE"]
    # Median time to contact: Alice 10/20/60 min → 20 min; Bob 30/90 → 60 min.
    assert alice.median_time_to_contact == timedelta(minutes=20)
    assert bob.median_time_to_contact == timedelta(minutes=60)
    assert carol.median_time_to_contact is None and dave.median_time_to_contact is None
    # SLA misses expire in the week: Bob's expired lead, and Carol's claim on last week's lead.
    assert (alice.sla_misses, bob.sla_misses, carol.sla_misses, dave.sla_misses) == (0, 1, 1, 0)
    # Won in the week: Alice 1000 + 500 + 40% of 2000 + 300 (last week's lead) = 2600 over 4
    # deals; Dave 60% of 2000 = 1200.
    assert (alice.won_count, alice.won_amount) == (4, Decimal("2600.00"))
    assert (dave.won_count, dave.won_amount) == (1, Decimal("1200.00"))
    assert (bob.won_count, bob.won_amount) == (0, Decimal(0))
    # Disputes opened this week: split (Alice, Dave), Bob v Carol, the open one (Carol, Alice).
    # Resolved this week: the split; Bob's award; the award to Carol of last week's lead.
    assert (alice.disputes_involved, alice.disputes_won, alice.disputes_split) == (2, 0, 1)
    assert (bob.disputes_involved, bob.disputes_won, bob.disputes_split) == (1, 1, 0)
    assert (carol.disputes_involved, carol.disputes_won, carol.disputes_split) == (2, 1, 0)
    assert (dave.disputes_involved, dave.disputes_won, dave.disputes_split) == (1, 0, 1)
    # Caps: Dave refused 3 times this week, Bob twice (a third was the week before).
    assert (dave.cap_hits, bob.cap_hits) == (3, 2)
    # Own claims started this week: Alice 12 averaging (550 + 100)/12 = 54.2 (< 49.04 + 20);
    # Bob 5 averaging 95 (≥ 69.04): cherry-picking.
    assert alice.own_claims == 12 and alice.own_mean_score == pytest.approx(650 / 12)
    assert bob.own_claims == 5 and bob.own_mean_score == pytest.approx(95)
    assert alice.flags == (Flag.HOARDING,)  # r 1.63 > 1.5
    assert bob.flags == (Flag.CHERRY_PICKING,)  # away Mon–Wed yet r = 1: not starved
    assert carol.flags == (Flag.STARVED,)  # r 0.43 < 0.5
    assert dave.flags == (Flag.HOARDING,)  # 3 cap hits

    # Gini over r = 171/105, 105/105, 45/105, 91/105 (Σ 412/105). Sorted 45, 91, 105, 171 with
    # weights −3, −1, 1, 3: 392/105, so G = 392 / (4·412) = 0.2379.
    # Jain = 412² / (4·(45² + 91² + 105² + 171²)) = 169744 / 202288 = 0.8391.
    # Last week r = 2, 0, 1 (Alice, Bob, Carol; 2 leads, f = 0.5, 0.5, 1): G = 4/9, J = 0.6.
    assert digest.gini == pytest.approx(392 / 1648)
    assert digest.jain == pytest.approx(169744 / 202288)
    assert digest.gini_change == pytest.approx(392 / 1648 - 4 / 9)
    assert digest.jain_change == pytest.approx(169744 / 202288 - 0.6)

    # Opened 3; resolved 3 in 4 h, 1 h and 72 h (median 4 h); still open at the end: the
    # open one and last week's, resolved only on the 17th.
    assert digest.disputes == DisputeSummary(
        opened=3,
        resolved=3,
        still_open=2,
        median_time_to_resolve=timedelta(hours=4),
        outcomes={"award": 2, "split": 1},
    )
    assert members["manager"].id not in {r.member_id for r in digest.reps}


def test_digest_message_and_text(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        build_week_46(session)
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    payload = digest_message(digest)
    blocks = payload["blocks"]
    slack = "\n".join(b["text"]["text"] for b in blocks if b["type"] in ("section", "header"))
    assert blocks[0]["text"]["text"] == "Fairness digest · Team T · 2026-W46"
    headline = blocks[2]["text"]["text"]
    assert headline.startswith("*28 leads in* (web 16, csv 6, referral 4, unknown 2)")
    assert "*Fairness:* uneven — Gini 0.24, Jain 0.84" in headline
    assert "Gini ↓ 0.21, Jain ↑ 0.24 (fairer)" in headline
    assert (
        "<@UCAROL> 6 of 14 fair · ×0.43 · quality ×0.19 · 1 SLA miss · disputes 2 (won 1, split 0) · ⬇️ starved"
    ) in slack
    assert "<@UBOB> 4 of 4 fair · ×1.00 · quality ×2.09 · contact 1h 00m ·" in slack
    assert "<@UCAROL> ⬇️ starved: ×0.43 of fair share" in slack
    assert "<@UDAVE> ⬆️ hoarding: hit a limit 3×" in slack
    assert "<@UBOB> 🍒 cherry-picking: own claims average score 95 vs team 49 (5 claims)" in slack
    assert "won 4 ($2,600)" in slack
    assert ("*Disputes:* 3 opened · 3 resolved (award 2, split 1) · 2 still open · median 4h 00m to resolve") in slack
    assert payload["text"] == ("Fairness digest for Team T, 2026-W46: 28 leads in, Gini 0.24 (uneven)")

    text = digest_text(digest)
    assert "28 leads in (web 16" in text and "@UCAROL 6 of 14 fair" in text
    assert "<@" not in text and "*" not in text


def test_user_text_is_escaped_in_slack(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        rep = make_member(session, team, "UA")
        make_lead(session, team, local(10), source="<!channel> *bold*", credit={rep: 100})
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    headline = digest_message(digest)["blocks"][2]["text"]["text"]
    assert "<!channel>" not in headline and "&lt;!channel&gt;" in headline
    assert "<!channel> *bold* 1" in digest_text(digest)


def test_empty_week(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        make_member(session, team, "UA")
        make_member(session, team, "UB")
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    assert digest.leads == LeadSummary(0, {}, 0, 0, 0, None)
    assert [(r.credited, r.fair_share, r.ratio, r.quality_ratio, r.flags) for r in digest.reps] == [
        (0.0, 0.0, None, None, ())
    ] * 2
    assert (digest.gini, digest.jain, digest.gini_change, digest.jain_change) == (None,) * 4
    assert digest.disputes == DisputeSummary(0, 0, 0, None, {})
    text = digest_text(digest)
    assert "No leads came in this week." in text
    assert "Fairness: no leads to share, so nothing to compare." in text
    assert "Disputes: none this week." in text
    assert "@UA 0 of 0 fair · no fair share" in text
    assert len(digest_message(digest)["blocks"]) <= MESSAGE_BLOCKS_MAX


def test_team_of_one(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        solo = make_member(session, team, "US")
        for _ in range(2):
            make_lead(session, team, local(10), score=40, credit={solo: 100})
        make_lead(session, team, local(10), score=40)
        make_lead(session, team, local(3), credit={solo: 100})  # last week: r = 1/1
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    # f = 3, c = 2: r = 2/3; quality: 80 of 120. One rep is always perfectly even.
    (row,) = digest.reps
    assert (row.ratio, row.quality_ratio) == pytest.approx((2 / 3, 2 / 3))
    assert (digest.gini, digest.jain, digest.gini_change, digest.jain_change) == (0, 1, 0, 0)
    assert row.flags == ()
    assert "→ 0.00" in digest_text(digest) and "about the same" in digest_text(digest)


def test_partial_week_counts_up_to_now(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        alice, bob = make_member(session, team, "UA"), make_member(session, team, "UB")
        make_away(session, bob, local(10, 0), None)  # away since Tuesday, still away
        for _ in range(3):
            make_lead(session, team, local(9, 10), credit={alice: 100})
    with freeze_time(local(11, 0)), sessions() as session:  # Wednesday 00:00
        now = datetime.now(UTC)
        digest = compute_digest(session, "t", 2026, 46, now)
        with refusal(InvalidInput, match="2026-W47 has not started yet"):
            compute_digest(session, "t", 2026, 47, now)
    # Two days so far: e = 1 and 1/2, f = 3·1/1.5 = 2 and 1; Bob's future absence is not counted.
    assert digest.partial is True and digest.as_of == local(11, 0)
    assert [r.fair_share for r in sorted(digest.reps, key=lambda r: r.slack_user_id)] == pytest.approx([2, 1])
    assert digest_message(digest)["blocks"][0]["text"]["text"].endswith("(so far)")
    assert "week still running, as of Wed 11 Nov 00:00 EST" in digest_text(digest)


@pytest.mark.parametrize(
    ("now", "partial", "leads"),
    [
        # 04:30 UTC on 2 Nov is 23:30 EST Sunday: W44 (169 h long) is still running.
        (datetime(2026, 11, 2, 4, 30, tzinfo=UTC), True, 2),
        (datetime(2026, 11, 2, 5, tzinfo=UTC), False, 3),
    ],
)
def test_digest_week_across_dst(sessions: sessionmaker[Session], now: datetime, partial: bool, leads: int) -> None:
    with sessions.begin() as session:
        team = make_team(session)
        make_member(session, team, "UA")
        for at in (
            datetime(2026, 10, 26, 3, 59, tzinfo=UTC),  # Sun 23:59 EDT: W43
            datetime(2026, 10, 26, 4, tzinfo=UTC),  # Mon 00:00 EDT: W44
            datetime(2026, 11, 2, 4, 15, tzinfo=UTC),  # Sun 23:15 EST: W44
            datetime(2026, 11, 2, 4, 59, tzinfo=UTC),  # Sun 23:59 EST: W44
            datetime(2026, 11, 2, 5, tzinfo=UTC),
        ):  # Mon 00:00 EST: W45
            make_lead(session, team, at)
    with freeze_time(now), sessions() as session:
        digest = compute_digest(session, "t", 2026, 44, datetime.now(UTC))
    assert (digest.partial, digest.leads.total) == (partial, leads)
    assert digest.end - digest.start == timedelta(hours=169)


# --- schedule and once-only runs ----------------------------------------------------------------


def test_due_digest_week_before_and_after_the_configured_time() -> None:
    east = Team(id="east", timezone=NY, digest_day="mon", digest_time="09:00")  # the defaults
    # Mon 23 Nov 2026 09:00 EST is 14:00 UTC.
    assert due_digest_week(east, datetime(2026, 11, 23, 13, 59, tzinfo=UTC)) is None
    assert due_digest_week(east, datetime(2026, 11, 23, 14, tzinfo=UTC)) == (2026, 47)
    assert due_digest_week(east, datetime(2026, 11, 27, 3, tzinfo=UTC)) == (2026, 47)
    # Sunday 23:30 EST is Monday in UTC, but not yet Monday 09:00 in New York.
    assert due_digest_week(east, datetime(2026, 11, 30, 4, 30, tzinfo=UTC)) == (2026, 47)
    # The first Monday after DST ends: 09:00 EST = 14:00 UTC (13:00 UTC would be 09:00 EDT).
    assert due_digest_week(east, datetime(2026, 11, 2, 13, 30, tzinfo=UTC)) is None
    assert due_digest_week(east, datetime(2026, 11, 2, 14, tzinfo=UTC)) == (2026, 44)


def test_due_digest_week_on_the_dst_sunday() -> None:
    team = Team(id="x", timezone=NY, digest_day="sun", digest_time="18:00")
    # Sunday 1 Nov 2026 18:00 EST = 23:00 UTC (DST ended that morning).
    assert due_digest_week(team, datetime(2026, 11, 1, 22, 30, tzinfo=UTC)) is None
    assert due_digest_week(team, datetime(2026, 11, 1, 23, tzinfo=UTC)) == (2026, 43)
    assert due_digest_week(team, datetime(2026, 11, 2, 5, tzinfo=UTC)) is None  # next week


def test_take_digest_run_once(sessions: sessionmaker[Session]) -> None:
    now = datetime(2026, 11, 23, 14, tzinfo=UTC)
    with sessions.begin() as session:
        assert take_digest_run(session, "east", 2026, 47, now) is True
    with sessions.begin() as session:
        assert take_digest_run(session, "east", 2026, 47, now) is False
        assert take_digest_run(session, "east", 2026, 48, now) is True  # the session survives
        assert take_digest_run(session, "west", 2026, 47, now) is True
    with sessions() as session:
        keys = session.scalars(select(JobRun.key).where(JobRun.job == "digest")).all()
    assert sorted(keys) == ["east/2026-W47", "east/2026-W48", "west/2026-W47"]


def test_take_digest_run_race_on_postgres(pg_engine: Engine) -> None:
    sessions = session_factory(pg_engine)
    now = datetime(2026, 11, 23, 14, tzinfo=UTC)
    replicas = 8
    barrier = threading.Barrier(replicas)
    results: list[bool] = []

    def replica() -> None:
        with sessions.begin() as session:
            barrier.wait()
            results.append(take_digest_run(session, "east", 2026, 47, now))

    threads = [threading.Thread(target=replica) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * (replicas - 1) + [True]


# --- chart --------------------------------------------------------------------------------------


def test_chart_is_a_png(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        build_week_46(session)
        digest = compute_digest(session, "t", 2026, 46, AFTER_W46)
    png = fairness_chart(digest, names={"UALICE": "Alice"})
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    height, width, _ = image.imread(io.BytesIO(png)).shape
    assert width == 800 and height > 200
    alt = chart_alt_text(digest, names={"UCAROL": "Carol Chen", "UALICE": "Alice Adams"})
    assert alt.startswith("Bar chart of credited leads against fair share for 4 reps of Team T")
    assert "lowest ratio first: Carol Chen 6 of 14, rep 2 2.6 of 3, rep 3 4 of 4, Alice Adams 11.4 of 7." in alt
    assert "Below half their fair share: Carol Chen." in alt
    assert "Flagged for hoarding: rep 2, Alice Adams." in alt, "a rep Slack gave no name for is their row"
    assert "Gini 0.24" in alt and "U" not in alt.replace("Bar", ""), "no user ids"


def test_names_are_drawn_literally_in_the_chart() -> None:
    """A `$` in a name would start matplotlib's mathtext, and a stray one crashed the drawing."""
    names = {"U0000000000": "$a^$", "U0000000001": r"Jo $\frac$ 100%"}
    assert fairness_chart(_digest(_reps(2)), names).startswith(PNG_SIGNATURE)


def test_alt_text_of_a_big_team_is_summarised_within_slacks_limit() -> None:
    reps = [replace(rep, ratio=round(0.5 + i / 100, 2)) for i, rep in enumerate(_reps(200))]
    names = {rep.slack_user_id: f"Representative Number {i:03d}" for i, rep in enumerate(reps)}
    alt = chart_alt_text(_digest(reps), names)
    assert len(alt) <= 1000, "Slack refuses a longer alt_txt (alt_txt_too_large)"
    assert alt.startswith("Bar chart of credited leads against fair share for 200 reps of Team T, 2026-W46")
    assert "Lowest ratio: Representative Number 000 ×0.50, Representative Number 001 ×0.51" in alt
    assert "highest: Representative Number 199 ×2.49, Representative Number 198 ×2.48" in alt
    assert "Below half their fair share: 200 reps. Flagged for hoarding: 200 reps. Gini 0.30" in alt
    long_names = {rep.slack_user_id: "N" * 255 for rep in reps}
    assert len(chart_alt_text(_digest(reps), long_names)) <= 1000


def test_chart_of_an_empty_team_and_of_many_reps() -> None:
    empty = _digest([])
    assert fairness_chart(empty, {}).startswith(PNG_SIGNATURE)
    assert "for 0 reps" in chart_alt_text(empty, {})
    png = fairness_chart(_digest(_reps(200)), {})
    height, width, _ = image.imread(io.BytesIO(png)).shape
    assert width == 800 and height > 200 * 0.3 * 100  # room for every label


def _reps(count: int) -> list[RepDigest]:
    """Reps with every field filled in and every flag, for the longest possible lines."""
    return [
        RepDigest(
            member_id=i,
            slack_user_id=f"U{i:010d}",
            credited=12.4,
            fair_share=10.1,
            ratio=1.23,
            quality_ratio=1.1,
            median_time_to_contact=timedelta(minutes=65),
            sla_misses=2,
            disputes_involved=2,
            disputes_won=1,
            disputes_split=1,
            won_count=3,
            won_amount=Decimal("12345.67"),
            cap_hits=4,
            own_claims=6,
            own_mean_score=88.0,
            flags=(Flag.STARVED, Flag.HOARDING, Flag.CHERRY_PICKING),
        )
        for i in range(count)
    ]


def _digest(reps: list[RepDigest]) -> Digest:
    return Digest(
        team_id="t",
        team_name="Team T",
        timezone=NY,
        year=2026,
        week=46,
        start=W46_START,
        end=W46_END,
        as_of=W46_END,
        partial=False,
        leads=LeadSummary(2000, {f"source {i}": 100 for i in range(20)}, 1500, 400, 100, 55.0),
        reps=reps,
        gini=0.3,
        jain=0.8,
        gini_change=0.1,
        jain_change=-0.05,
        disputes=DisputeSummary(12, 10, 2, timedelta(hours=5), {"award": 6, "split": 4}),
    )


@pytest.mark.parametrize("count", [200, 1000])
def test_message_fits_slack_limits(count: int) -> None:
    payload = digest_message(_digest(_reps(count)))
    blocks = payload["blocks"]
    assert len(blocks) <= MESSAGE_BLOCKS_MAX
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_MAX
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= HEADER_TEXT_MAX
    rep_sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "fair ·" in b["text"]["text"]]
    shown = sum(text.count(" fair · ") for text in rep_sections)
    if count == 200:
        assert shown == 200  # a 200-rep team is shown whole
    else:
        assert rep_sections[-1].endswith(f"…and {count - shown} more")
    assert blocks[-2]["text"]["text"].startswith("*Disputes:*")
