"""The weekly fairness digest as a Slack message and as terminal text (`dibs digest preview`).

Both come from the same lines, written once with a `_Style` that says how to show a person,
emphasis and user text. Headline numbers first, so it reads on a phone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.digest import Digest, RepDigest
from bot.fairness import HOARDING_ABOVE, HOARDING_CAP_HITS, Flag
from handlers.blocks import (
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    Block,
    context,
    divider,
    escape,
    header,
    mention,
    message,
    section,
)
from handlers.text import duration, local_time

FLAG_LABELS = {
    Flag.STARVED: "⬇️ starved",
    Flag.HOARDING: "⬆️ hoarding",
    Flag.CHERRY_PICKING: "🍒 cherry-picking",
    Flag.LOW_VALUE: "💸 low value",
}
# Gini at or below each bound reads as these words.
GINI_WORDS = ((0.10, "very even"), (0.20, "fairly even"), (0.35, "uneven"), (1.0, "very uneven"))
SAME = 0.005  # a change smaller than this is shown as no change
MORE_ROOM = 40  # characters kept free in each section for "…and N more"
MAX_FLAG_SECTIONS = 10
FOOTNOTE = (
    "Fair share counts only the time each rep was available. Ratio = credited ÷ fair "
    "share. Value = pipeline value (value × score/100) credited ÷ fair share of it. "
    "Gini 0 and Jain 1 are perfectly fair."
)


@dataclass(frozen=True)
class _Style:
    who: Callable[[str], str]
    bold: Callable[[str], str]
    user_text: Callable[[object], str]


SLACK = _Style(who=mention, bold=lambda s: f"*{s}*", user_text=escape)
TERMINAL = _Style(who=lambda uid: f"@{uid}", bold=str, user_text=str)


def _num(value: float) -> str:
    """One decimal at most: 3 → `3`, 0.6 → `0.6`, 2.333 → `2.3`."""
    return f"{value:.1f}".removesuffix(".0")


def _money(amount: Decimal) -> str:
    return f"${amount:,.2f}".removesuffix(".00")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _fairness_words(gini: float) -> str:
    return next(words for bound, words in GINI_WORDS if gini <= bound)


def _arrow(change: float) -> str:
    if abs(change) < SAME:
        return "→ 0.00"
    return f"{'↑' if change > 0 else '↓'} {abs(change):.2f}"


def _title(d: Digest) -> str:
    return f"Fairness digest · {d.team_name} · {d.label}{' (so far)' if d.partial else ''}"


def _period(d: Digest) -> str:
    last_day = local_time(d.end - timedelta(days=1), d.timezone, "%a %d %b %Y")
    text = f"{local_time(d.start, d.timezone, '%a %d %b')} – {last_day} ({d.timezone})"
    if d.partial:
        text += f" · week still running, as of {local_time(d.as_of, d.timezone)}"
    return text


def _headline(d: Digest, s: _Style) -> list[str]:
    leads = d.leads
    if leads.total == 0:
        lines = [f"{s.bold('No leads came in')} this week."]
    else:
        sources = ", ".join(f"{s.user_text(src)} {n}" for src, n in leads.by_source.items())
        lines = [
            f"{s.bold(_plural(leads.total, 'lead') + ' in')} ({sources}) · "
            f"{leads.claimed} claimed · {leads.auto_assigned} auto-assigned · "
            f"{leads.expired} expired"
        ]
    if d.gini is None or d.jain is None:
        why = "no leads to share" if leads.total == 0 else "no rep was available"
        lines.append(f"{s.bold('Fairness:')} {why}, so nothing to compare.")
        return lines
    fairness = f"{s.bold('Fairness:')} {_fairness_words(d.gini)} — Gini {d.gini:.2f}, Jain {d.jain:.2f}"
    if d.gini_change is None or d.jain_change is None:
        fairness += " · no leads last week to compare with"
    else:
        verdict = "about the same" if abs(d.gini_change) < SAME else "fairer" if d.gini_change < 0 else "less fair"
        fairness += f" · since last week: Gini {_arrow(d.gini_change)}, Jain {_arrow(d.jain_change)} ({verdict})"
    lines.append(fairness)
    return lines


def _rep_line(r: RepDigest, s: _Style) -> str:
    parts = [f"{s.who(r.slack_user_id)} {_num(r.credited)} of {_num(r.fair_share)} fair"]
    if r.ratio is None:
        parts.append("no fair share")
    else:
        parts.append(f"×{r.ratio:.2f}")
    if r.quality_ratio is not None:
        parts.append(f"quality ×{r.quality_ratio:.2f}")
    if r.value_ratio is not None:
        parts.append(f"value ×{r.value_ratio:.2f}")
    if r.median_time_to_contact is not None:
        parts.append(f"contact {duration(r.median_time_to_contact.total_seconds())}")
    if r.sla_misses:
        parts.append(_plural(r.sla_misses, "SLA miss", "SLA misses"))
    if r.won_count:
        parts.append(f"won {r.won_count} ({_money(r.won_amount)})")
    if r.disputes_involved or r.disputes_won or r.disputes_split:
        parts.append(f"disputes {r.disputes_involved} (won {r.disputes_won}, split {r.disputes_split})")
    parts += [FLAG_LABELS[f] for f in r.flags]
    return " · ".join(parts)


def _flag_reason(r: RepDigest, flag: Flag, d: Digest) -> str:
    ratio = f"×{r.ratio or 0:.2f} of fair share"
    if flag == Flag.STARVED:
        return ratio
    if flag == Flag.HOARDING:
        reasons = [ratio] if (r.ratio or 0) > HOARDING_ABOVE else []
        if r.cap_hits >= HOARDING_CAP_HITS:
            reasons.append(f"hit a limit {r.cap_hits}×")
        return ", ".join(reasons)
    if flag == Flag.LOW_VALUE:
        return f"×{r.value_ratio or 0:.2f} of fair pipeline value, though ×{r.ratio or 0:.2f} of fair lead count"
    return (
        f"own claims average score {r.own_mean_score or 0:.0f} vs team "
        f"{d.leads.mean_score or 0:.0f} ({r.own_claims} claims)"
    )


def _flag_lines(d: Digest, s: _Style) -> list[str]:
    return [f"{s.who(r.slack_user_id)} {FLAG_LABELS[f]}: {_flag_reason(r, f, d)}" for r in d.reps for f in r.flags]


def _dispute_line(d: Digest, s: _Style) -> str:
    ds = d.disputes
    if not (ds.opened or ds.resolved or ds.still_open):
        return f"{s.bold('Disputes:')} none this week."
    text = f"{s.bold('Disputes:')} {ds.opened} opened · {ds.resolved} resolved"
    if ds.outcomes:
        text += " (" + ", ".join(f"{o} {n}" for o, n in ds.outcomes.items()) + ")"
    text += f" · {ds.still_open} still open"
    if ds.median_time_to_resolve is not None:
        text += f" · median {duration(ds.median_time_to_resolve.total_seconds())} to resolve"
    return text


def _sections(lines: list[str], max_sections: int) -> list[Block]:
    """Lines packed into sections within Slack's text limit; past `max_sections`, '…and N more'."""
    chunks: list[list[str]] = [[]]
    size = 0
    for index, line in enumerate(lines):
        if chunks[-1] and size + len(line) + 1 > SECTION_TEXT_MAX - MORE_ROOM:
            if len(chunks) == max_sections:
                chunks[-1].append(f"…and {len(lines) - index} more")
                break
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return [section("\n".join(chunk)) for chunk in chunks if chunk]


def digest_message(digest: Digest) -> dict[str, Any]:
    """The digest as a Slack message (fallback text + blocks), within Slack's limits."""
    s = SLACK
    flags = _flag_lines(digest, s)
    flag_blocks = [divider(), *_sections([s.bold("Flags"), *flags], MAX_FLAG_SECTIONS)]
    top = [header(_title(digest)), context(_period(digest)), section("\n".join(_headline(digest, s)))]
    bottom = [*(flag_blocks if flags else []), divider(), section(_dispute_line(digest, s)), context(FOOTNOTE)]
    room = MESSAGE_BLOCKS_MAX - len(top) - len(bottom) - 1  # 1 for the divider before reps
    rep_lines = [
        s.bold("Per rep") + " — credited of fair share, lowest ratio first",
        *(_rep_line(r, s) for r in digest.reps),
    ]
    blocks = [*top, divider(), *_sections(rep_lines, room), *bottom]
    return message(_fallback(digest), blocks)


def _fallback(d: Digest) -> str:
    fairness = "" if d.gini is None else f", Gini {d.gini:.2f} ({_fairness_words(d.gini)})"
    leads = _plural(d.leads.total, "lead")
    return f"Fairness digest for {escape(d.team_name)}, {d.label}: {leads} in{fairness}"


def digest_text(digest: Digest) -> str:
    """The same digest as plain text for a terminal: every rep, no Slack markup."""
    s = TERMINAL
    parts = [
        _title(digest),
        _period(digest),
        "",
        *_headline(digest, s),
        "",
        "Per rep (credited of fair share, lowest ratio first):",
        *(_rep_line(r, s) for r in digest.reps),
    ]
    flags = _flag_lines(digest, s)
    if flags:
        parts += ["", "Flags:", *flags]
    parts += ["", _dispute_line(digest, s), "", FOOTNOTE]
    return "\n".join(parts)
