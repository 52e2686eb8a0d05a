"""Account overlaps on stored keys (issue 11) find exactly what the earlier look-up found.

The earlier look-up loaded whole candidate rows, normalized both sides again (`same_account`)
and asked for each match's holder apiece; it is kept here as the reference. Both run over the
benchmark's synthetic company world (bench/companies.py), with typos in some names and some
leads held, and must agree on every lead: the same leads, reasons, holders and hold starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bench.companies import World
from bot import claiming
from bot.accounts import (
    FREE_MAIL_DOMAINS,
    NAME_SIMILARITY_THRESHOLD,
    AccountFacts,
    normalize_company,
    phone_key,
    registrable_domain,
)
from bot.intake import OVERLAPS_SHOWN, LeadIn, take_lead
from bot.overlap import CANDIDATE_LIMIT, account_overlaps
from bot.teams import find_member
from models import OWNING_CLAIM_STATUSES, Claim, Lead, Member, Team

HOLD_DAYS = 90


def _same_account_before(a: AccountFacts, b: AccountFacts) -> str | None:
    """`same_account` as it was: both sides normalized again, fuzzy before the second field."""

    def domain(value: str | None) -> str | None:
        found = registrable_domain(value)
        return None if found in FREE_MAIL_DOMAINS else found

    if domain(a.domain) is not None and domain(a.domain) == domain(b.domain):
        return "same domain"
    name_a, name_b = normalize_company(a.name), normalize_company(b.name)
    if name_a is not None and name_a == name_b:
        return "same company name"
    if name_a is None or name_b is None or fuzz.token_sort_ratio(name_a, name_b) < NAME_SIMILARITY_THRESHOLD:
        return None
    if phone_key(a.phone) is not None and phone_key(a.phone) == phone_key(b.phone):
        return "similar company name and same phone"
    territory_a = (a.territory or "").strip().casefold() or None
    if territory_a is not None and territory_a == ((b.territory or "").strip().casefold() or None):
        return "similar company name and same territory"
    return None


def _reference(session: Session, lead: Lead, now: datetime) -> list[tuple[int, str, str | None, datetime | None]]:
    """The look-up as it was before stored keys were compared."""
    keys = [
        (Lead.account_domain, lead.account_domain),
        (Lead.account_name, lead.account_name),
        (Lead.phone_key, lead.phone_key),
    ]
    exact = [column == value for column, value in keys if value]
    if lead.name_block and lead.territory:
        territory = lead.territory.strip().lower()
        exact.append(and_(Lead.name_block == lead.name_block, func.lower(Lead.territory) == territory))
    if not exact:
        return []
    candidates = session.scalars(
        select(Lead)
        .where(Lead.team_id == lead.team_id, Lead.id != lead.id, or_(*exact))
        .order_by(Lead.id.desc())
        .limit(CANDIDATE_LIMIT)
    )

    def facts(one: Lead) -> AccountFacts:
        return AccountFacts(one.account_domain, one.account_name, one.phone_key, one.territory)

    found = []
    for other in candidates:
        reason = _same_account_before(facts(lead), facts(other))
        if reason is None:
            continue
        owner = session.scalar(
            select(Claim).where(
                Claim.lead_id == other.id,
                Claim.status.in_(OWNING_CLAIM_STATUSES),
                Claim.started_at >= now - timedelta(days=HOLD_DAYS),
            )
        )
        found.append(
            (other.id, reason, owner.member.slack_user_id if owner else None, owner.started_at if owner else None)
        )
    return found


def _typo(company: str, n: int) -> str:
    """Every fifth lead drops a letter of its company's first word (a fuzzy match, not an exact one)."""
    if n % 5 or len(company) < 12:
        return company
    cut = 3 + n % 4
    return company[:cut] + company[cut + 1 :]


def _rep(session: Session, uid: str) -> Member:
    member = find_member(session, uid)
    assert member is not None, uid
    return member


def test_overlaps_on_stored_keys_equal_the_earlier_look_up(teams, now) -> None:
    world = World(40)
    ids = []
    with teams.begin() as session:
        team = session.get_one(Team, "east")
        for n in range(240):
            fields = world.lead_json(n)
            fields["company"] = _typo(fields["company"], n)
            ids.append(take_lead(session, team, LeadIn(**fields), now, "bench").lead.id)
    with teams.begin() as session:
        for n, lead_id in enumerate(ids[::7]):
            claiming.claim_lead(session, _rep(session, ("U0ALICE", "U0BOB", "U0CAROL")[n % 3]), lead_id, now)
    compared = matched = fuzzy = 0
    with teams() as session:
        for lead in session.scalars(select(Lead).where(Lead.id.in_(ids))):
            new = [
                (o.lead_id, o.reason, o.holder.slack_user_id if o.holder else None, o.held_since)
                for o in account_overlaps(session, lead, now, HOLD_DAYS)
            ]
            assert new == _reference(session, lead, now), lead.ref
            compared += 1
            matched += bool(new)
            fuzzy += any(reason.startswith("similar") for _, reason, _, _ in new)
    assert compared == 240 and matched > 200 and fuzzy > 0  # the check covered every kind of match


def test_the_webhook_answer_lists_the_newest_overlaps_and_the_holder(teams, now) -> None:
    with teams.begin() as session:
        team = session.get_one(Team, "east")
        first = take_lead(session, team, LeadIn(name="First", email="a@acme.com"), now, "crm").lead.id
        claiming.claim_lead(session, _rep(session, "U0BOB"), first, now)
        others = [
            take_lead(session, team, LeadIn(name=f"Lead {n}", email=f"p{n}@acme.com"), now, "crm").lead.id
            for n in range(OVERLAPS_SHOWN + 2)
        ]
        answer = take_lead(session, team, LeadIn(name="Last", email="z@acme.com"), now, "crm").as_json()
    newest = [f"L-{lead_id}" for lead_id in reversed(others)][:OVERLAPS_SHOWN]
    assert [o["lead"] for o in answer["overlaps"]] == [*newest, f"L-{first}"]
    assert answer["overlaps"][-1]["held_by"] == "U0BOB"
    assert answer["more_overlaps"] == 2  # 13 overlaps, 11 shown
