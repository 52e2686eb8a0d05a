"""Answers worded from the domain's typed results: what became of a claim, and `/dibs why`."""

from __future__ import annotations

from bot.claiming import ClaimOutcome, ClaimResult
from bot.escalation import ESCALATED
from bot.fallback import MANAGERS, RETRY, WAIT
from bot.ownership import (
    AssignedByManager,
    AutoAssigned,
    DecidedInDispute,
    Explanation,
    FirstClaim,
    NoRepTookIt,
    RatioLine,
    RoutedToAccountOwner,
    SetInCrm,
    WonDraw,
)
from handlers.refusals import limit_text, refusal_text
from handlers.text import duration, escape, local_time, mention


def claim_text(result: ClaimResult) -> str:
    """The rep's answer to a claim (a click, `/dibs claim` or `/dibs contest`)."""
    ref, at = result.lead.ref, result.at
    dispute = result.dispute.ref if result.dispute else ""
    holder = mention(result.holder) if result.holder else "someone"
    match result.outcome:
        case ClaimOutcome.OWNED:
            within = duration((result.contact_sla_minutes or 0) * 60)
            due = result.claim.expires_at if result.claim else None
            by = f", by {local_time(due, result.timezone)}" if due else ""
            return (
                f"{ref} is yours. Mark it contacted within {within} of your working time{by}, "
                f"with `/dibs contacted {ref}`."
            )
        case ClaimOutcome.IN_DRAW:
            left = duration((result.lead.fair_start_until - at).total_seconds()) if result.lead.fair_start_until else ""
            return (
                f"You're in the fair-start draw for {ref}; it is decided in {left}. "
                "The claimant furthest below their fair share wins."
            )
        case ClaimOutcome.ALREADY_ASKED:
            return f"You have already asked for {ref}; it is being decided."
        case ClaimOutcome.REFUSED:
            rule = refusal_text(result.refusal) if result.refusal else "A team rule says no."
            return f"You can't claim {ref}. {rule}"
        case ClaimOutcome.ACCOUNT_DISPUTE:
            return (
                f"The {escape(result.account or 'same')} account is held by {holder} ({result.account_lead}), "
                f"so {dispute} will decide who gets {ref}. Your claim waits until then."
            )
        case ClaimOutcome.JOINED_DISPUTE:
            return f"{ref} is in dispute {dispute}; your claim has joined it and the mediator will decide."
        case ClaimOutcome.ALREADY_YOURS:
            return f"You already hold {ref}."
        case ClaimOutcome.WINDOW_DISPUTE:
            ago = duration((at - (result.held_since or at)).total_seconds())
            return f"{holder} claimed {ref} {ago} ago, so {dispute} is open and a manager will decide."
        case ClaimOutcome.HELD:
            since = local_time(result.held_since or at, result.timezone)
            return (
                f"{ref} is held by {holder} since {since}. If you have a better claim, "
                f"contest it: `/dibs contest {ref} reason`."
            )
        case ClaimOutcome.CONTESTED:
            return f"You contested {ref}; {dispute} is open and a manager will decide."


def _ratio_table(rows: tuple[RatioLine, ...]) -> str:
    return "\n".join(
        f"• {mention(r.rep)}: {r.credited:g} credited vs {r.fair_share:g} fair share (ratio {r.ratio:.3f})"
        for r in rows
    )


def _reason(reason: str | None) -> str:
    return f" Reason: {escape(reason)}" if reason else ""


def _revealed(lead: str, draw: WonDraw) -> str:
    """The draw's seed, revealed, and how to check it against the commitment the card showed."""
    if draw.commitment is None:
        return f"Seed {draw.seed} (this draw predates verifiable draws)."
    return (
        f"Seed `{draw.seed}`, committed to as `{draw.commitment}` when the window opened. "
        f"Check it: `dibs verify-draw {lead}`, or the recipe in docs/fairness.md."
    )


def why_text(why: Explanation) -> str:
    """`/dibs why`: how the current owner was chosen (from the inputs stored at the time), and
    when the holder's contact SLA is due, in their own time zone."""
    due = ""
    if why.contact_due is not None and why.holder_zone is not None:
        due = f"\nContact due {local_time(why.contact_due, why.holder_zone)} (the holder's working time)."
    return _how_chosen(why) + due


def _no_rep_text(lead: str, no_rep: NoRepTookIt) -> str:
    if no_rep.kind == ESCALATED:
        missed = ", ".join(mention(uid) for uid in no_rep.missed_by)
        return (
            f"{lead} has no owner: its contact SLA was missed {len(no_rep.missed_by)} times ({missed}), "
            "so it went to the managers instead of the channel."
        )
    skipped = "".join(f"\n• {mention(uid)}: {limit_text(why)}" for uid, why in no_rep.skipped)
    retry = duration(RETRY.total_seconds())
    went = {
        MANAGERS: "It went to the managers instead of waiting in the channel.",
        WAIT: f"It waits in the channel: auto-assign tries again every {retry}, and anyone may claim it.",
    }.get(no_rep.went_to, f"It went to {mention(no_rep.went_to)}, the team's fallback.")
    return f"{lead} has no owner: no rep could take it when auto-assign tried.{skipped}\n{went}"


def _how_chosen(why: Explanation) -> str:
    lead = why.lead
    match why.choice:
        case None if why.no_rep is not None:
            return _no_rep_text(lead, why.no_rep)
        case None:
            return f"{lead} has no owner yet; it is {why.status}."
        case FirstClaim(winner=winner):
            return f"{lead} went to {mention(winner)}: the first valid claim (no fair-start window was open)."
        case RoutedToAccountOwner(winner=winner, account_lead=account_lead):
            return (
                f"{lead} went straight to {mention(winner)}, who holds the same account ({account_lead}); "
                "this team routes new leads of an owned account to its owner."
            )
        case DecidedInDispute(dispute=dispute, outcome=outcome, by=by, shares=shares, reason=reason):
            by_whom = f" by {mention(by)}" if by else ""
            credit = ", ".join(f"{mention(uid)} {pct}%" for uid, pct in shares)
            return f"{lead} was decided in {dispute}{by_whom}: {outcome} ({credit}).{_reason(reason)}"
        case AssignedByManager(winner=winner, by=by, reason=reason, over_limit=over_limit):
            over = f" This went over a limit: {limit_text(over_limit)}" if over_limit else ""
            return f"{lead} was assigned to {mention(winner)} by {mention(by)}.{_reason(reason)}{over}"
        case SetInCrm(winner=winner, reason=reason, over_limit=over_limit):
            over = f" This went over a limit: {limit_text(over_limit)}" if over_limit else ""
            return f"{lead} was assigned to {mention(winner)} in the team's CRM.{_reason(reason)}{over}"
        case WonDraw(winner=winner, window_seconds=window_seconds, claimants=claimants, tied=tied) as draw:
            tie = f" {len(tied)} were tied, so a seeded draw picked the winner." if len(tied) > 1 else ""
            return (
                f"{lead} had {len(claimants)} claims in its {window_seconds}s fair-start window. "
                f"The claimant with the lowest ratio of credited leads to fair share this {draw.period} wins.{tie}\n"
                f"{_ratio_table(claimants)}\nWinner: {mention(winner)}\n{_revealed(lead, draw)}"
            )
        case AutoAssigned(winner=winner, after_minutes=after_minutes, candidates=candidates, skipped=skipped):
            not_eligible = "".join(
                f"\n• {mention(uid)} was not eligible: {limit_text(refusal)}" for uid, refusal in skipped
            )
            return (
                f"{lead} was unclaimed for {after_minutes} minutes, so it went by round robin "
                f"to the eligible rep furthest below fair share (longest since their last lead on ties).\n"
                f"{_ratio_table(candidates)}{not_eligible}\nWinner: {mention(winner)}"
            )
