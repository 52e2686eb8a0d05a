"""Finding leads of the same account (DESIGN §4, §5) through indexed keys, never a table scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.accounts import AccountFacts, same_account_keys
from bot.ownership import takes_leads
from models import OWNING_CLAIM_STATUSES, Claim, Lead, Member

CANDIDATE_LIMIT = 1000  # the newest leads of one account; a guard, not a filter


@dataclass(frozen=True)
class Overlap:
    """Another lead of the same account, and who holds it (if anyone, within the hold period)."""

    lead_id: int
    reason: str
    holder: Member | None = None
    held_since: datetime | None = None

    @property
    def lead_ref(self) -> str:
        return f"L-{self.lead_id}"


def _facts(lead: Lead) -> AccountFacts:
    return AccountFacts(
        domain=lead.account_domain, name=lead.account_name, phone=lead.phone_key, territory=lead.territory
    )


_KEY_COLUMNS = (Lead.id, Lead.account_domain, Lead.account_name, Lead.phone_key, Lead.territory)


def account_overlaps(session: Session, lead: Lead, now: datetime, hold_days: int) -> list[Overlap]:
    """Leads of the same team and account as `lead`, newest first, with their current holder.

    Candidates come only from rows sharing an indexed key (domain, normalized name, phone, or
    name block with territory), so the cost follows the account's own leads, not the table; only
    their stored keys are read and compared (`same_account_keys`), and the holders of all the
    matches come in one more query.
    """
    keys = [
        (Lead.account_domain, lead.account_domain),
        (Lead.account_name, lead.account_name),
        (Lead.phone_key, lead.phone_key),
    ]
    exact = [column == value for column, value in keys if value]
    # A close name counts only with one more field agreeing; domain and phone are exact keys
    # above, so the fuzzy route needs the same first word of the name and the same territory
    # (`ix_leads_team_block_territory`).
    if lead.name_block and lead.territory:
        territory = lead.territory.strip().lower()
        exact.append(and_(Lead.name_block == lead.name_block, func.lower(Lead.territory) == territory))
    if not exact:
        return []
    candidates = session.execute(
        select(*_KEY_COLUMNS)
        .where(Lead.team_id == lead.team_id, Lead.id != lead.id, or_(*exact))
        .order_by(Lead.id.desc())
        .limit(CANDIDATE_LIMIT)
    )
    facts = _facts(lead)
    matches = []
    for lead_id, domain, name, phone, territory in candidates:
        reason = same_account_keys(facts, AccountFacts(domain, name, phone, territory))
        if reason is not None:
            matches.append((lead_id, reason))
    holders = _holders(session, [lead_id for lead_id, _ in matches], now - timedelta(days=hold_days))
    return [Overlap(lead_id, reason, *holders.get(lead_id, (None, None))) for lead_id, reason in matches]


def _holders(session: Session, lead_ids: list[int], held_after: datetime) -> dict[int, tuple[Member, datetime]]:
    """The current holder of each lead held since `held_after`, and since when."""
    if not lead_ids:
        return {}
    owning = session.execute(
        select(Claim.lead_id, Member, Claim.started_at)
        .join(Member, Claim.member_id == Member.id)
        .where(Claim.lead_id.in_(lead_ids), Claim.status.in_(OWNING_CLAIM_STATUSES), Claim.started_at >= held_after)
    )
    return {lead_id: (member, started) for lead_id, member, started in owning}


def account_hold(session: Session, lead: Lead, now: datetime, hold_days: int, claimant_id: int) -> Overlap | None:
    """Who holds the lead's account, other than the claimant; never anyone with holds off (0 days)."""
    if not hold_days:
        return None
    return account_holder(account_overlaps(session, lead, now, hold_days), claimant_id)


def account_holder(overlaps: list[Overlap], exclude_member_id: int | None = None) -> Overlap | None:
    """The earliest hold on the account by a rep other than `exclude_member_id`.

    A manager holds no account (leads go to reps only): nothing is routed to them, no dispute for them.
    """
    held = [o for o in overlaps if o.holder is not None and takes_leads(o.holder) and o.holder.id != exclude_member_id]
    return min(held, key=_hold_start, default=None)


def _hold_start(overlap: Overlap) -> datetime:
    assert overlap.held_since is not None, "a holder comes with the start of the hold"
    return overlap.held_since
