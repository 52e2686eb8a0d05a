"""The digest's bar chart: each rep's credited leads against their fair share, as a PNG, and its
alt text.

Reps are labelled by display name (a chart cannot render a mention); one Slack cannot name is
"rep N", N being their row. Uses `matplotlib.figure.Figure` directly (Agg, no pyplot), so nothing
global is touched and charts can be drawn from any thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bot.digest import Digest
from bot.fairness import Flag
from handlers.blocks import truncate
from handlers.people import name_or_place

ROW_INCHES = 0.32
BASE_INCHES = 1.8
WIDTH_INCHES = 8.0
DPI = 100
BAR_COLOR = "#4C78A8"
FLAG_COLORS = {Flag.STARVED: "#F58518", Flag.HOARDING: "#E45756"}
FAIR_COLOR = "#222222"
LABEL_MAX_CHARS = 32
ALT_TEXT_MAX = 1000  # Slack refuses a longer alt_txt (alt_txt_too_large)
ENDS_SHOWN = 3  # reps named at each end of a summarised alt text


def _literal(text: str) -> str:
    """Text matplotlib draws as given: a `$` would start mathtext (and a stray one can crash it)."""
    return text.replace("$", r"\$")


def rep_labels(digest: Digest, names: Mapping[str, str]) -> list[str]:
    """What each row of the chart is called: the rep's name, or "rep N" when Slack gave none."""
    return [name_or_place(names, r.slack_user_id, f"rep {row}") for row, r in enumerate(digest.reps, 1)]


def _title(digest: Digest) -> str:
    partial = " (so far)" if digest.partial else ""
    return f"{digest.team_name} · {digest.label}{partial}: credited leads vs fair share"


def _bar_color(flags: tuple[Flag, ...]) -> str:
    return next((FLAG_COLORS[f] for f in flags if f in FLAG_COLORS), BAR_COLOR)


def _legend(digest: Digest) -> list[Patch | Line2D]:
    flagged = {f for r in digest.reps for f in r.flags}
    handles: list[Patch | Line2D] = [Patch(color=BAR_COLOR, label="credited leads")]
    handles += [
        Patch(color=color, label=f"credited ({flag})") for flag, color in FLAG_COLORS.items() if flag in flagged
    ]
    handles.append(Line2D([], [], marker="D", linestyle="", color=FAIR_COLOR, label="fair share"))
    return handles


def fairness_chart(digest: Digest, names: Mapping[str, str]) -> bytes:
    """A horizontal bar per rep (credited leads) with a marker at their fair share.

    `names` maps Slack user ids to display names. Starved reps' bars are orange and hoarding
    reps' bars red, as in the digest text.
    """
    reps = digest.reps
    figure = Figure(figsize=(WIDTH_INCHES, BASE_INCHES + ROW_INCHES * max(len(reps), 3)), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(_literal(_title(digest)), fontsize=11)
    if not reps:
        axes.text(0.5, 0.5, "No eligible reps this week", ha="center", va="center")
        axes.set_axis_off()
    else:
        rows = range(len(reps))
        axes.barh(rows, [r.credited for r in reps], height=0.6, color=[_bar_color(r.flags) for r in reps])
        axes.scatter([r.fair_share for r in reps], rows, marker="D", s=28, color=FAIR_COLOR, zorder=3)
        axes.set_yticks(rows, [_literal(truncate(label, LABEL_MAX_CHARS)) for label in rep_labels(digest, names)])
        axes.invert_yaxis()  # first rep (lowest ratio) on top
        axes.set_xlabel("leads")
        axes.set_xlim(left=0)
        axes.grid(axis="x", alpha=0.3)
        figure.legend(handles=_legend(digest), loc="outside lower center", ncols=4, fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _amount(leads: float) -> str:
    return f"{leads:.1f}".removesuffix(".0")


FLAG_WORDS = {Flag.STARVED: "Below half their fair share", Flag.HOARDING: "Flagged for hoarding"}


def chart_alt_text(digest: Digest, names: Mapping[str, str]) -> str:
    """The chart described for screen readers, within Slack's 1,000 characters.

    Every rep's numbers when they fit; else a summary: the reps at each end and how many are flagged.
    """
    labels = rep_labels(digest, names)
    rows = list(zip(labels, digest.reps, strict=True))
    head = (
        f"Bar chart of credited leads against fair share for {len(rows)} reps of "
        f"{digest.team_name}, {digest.label}, {digest.leads.total} leads in."
    )
    tail = f" Gini {digest.gini:.2f} (0 is perfectly fair)." if digest.gini is not None else ""
    flagged = {flag: [label for label, r in rows if flag in r.flags] for flag in FLAG_WORDS}
    every_rep = ", ".join(f"{label} {_amount(r.credited)} of {_amount(r.fair_share)}" for label, r in rows)
    full = head + (f" Credited of fair share, lowest ratio first: {every_rep}." if rows else "")
    full += "".join(f" {FLAG_WORDS[flag]}: {', '.join(who)}." for flag, who in flagged.items() if who)
    if len(full + tail) <= ALT_TEXT_MAX:
        return full + tail
    rated = [f"{label} ×{r.ratio:.2f}" for label, r in rows if r.ratio is not None]
    ends = f" Lowest ratio: {', '.join(rated[:ENDS_SHOWN])}; highest: {', '.join(rated[::-1][:ENDS_SHOWN])}."
    counts = "".join(f" {FLAG_WORDS[flag]}: {len(who)} reps." for flag, who in flagged.items() if who)
    return truncate(head + (ends if rated else "") + counts + tail, ALT_TEXT_MAX)
