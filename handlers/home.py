"""App Home: a rep's claims and limit use; a manager's open disputes and open leads.

Opening the tab queues a publish (the outbox renders `home_view` when it sends it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt import App
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.claims import limit_use
from bot.leads import active_claims, open_leads
from bot.rep_hours import rep_hours
from bot.teams import find_member
from handlers.blocks import VIEW_BLOCKS_MAX, divider, header, mention, section
from handlers.hours_commands import hours_text
from handlers.pipeline import first_delivery
from handlers.views import claims_section, lead_line
from models import Dispute, DisputeStatus


def home_view(session: Session, slack_user_id: str, now: datetime) -> dict[str, Any]:
    """The Home tab for one user, rendered when it is published."""
    member = find_member(session, slack_user_id)
    if member is None:
        blocks = [header("Dibs"), section("You are not in a Dibs team yet. Ask a manager to add you.")]
        return {"type": "home", "blocks": blocks}
    blocks = [header(f"Dibs · {member.team.name}")]
    if member.is_manager:
        disputes = session.scalars(
            select(Dispute)
            .where(Dispute.team_id == member.team_id, Dispute.status == DisputeStatus.OPEN)
            .order_by(Dispute.opened_at)
        )
        lines = [
            f"*{d.ref}* on {d.lead.ref} · "
            + ", ".join(mention(p.member.slack_user_id) for p in d.parties)
            + (f" · mediator {mention(d.mediator.slack_user_id)}" if d.mediator else "")
            for d in disputes
        ]
        blocks += [section("*Open disputes*\n" + ("\n".join(lines) if lines else "None.")), divider()]
        leads = open_leads(session, member.team_id, limit=30)
        blocks.append(section("*Open leads*\n" + ("\n".join(lead_line(lead) for lead in leads) or "None.")))
    else:
        blocks += [section(hours_text(rep_hours(session, member, now))), divider()]
        blocks += claims_section(active_claims(session, member.id), limit_use(session, member, now))
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS_MAX]}


def register(app: App) -> None:
    """Publish a person's Home tab when they open it (once per event, however often Slack retries)."""

    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any], event: dict[str, Any], session: Session, now: datetime) -> None:
        if event.get("tab") == "home" and first_delivery(session, body.get("event_id", ""), now):
            outbox.enqueue(session, outbox.Kind.PUBLISH_HOME, now, user=event["user"])
