"""The digest's bar chart: each rep's credited leads against their fair share, as a PNG.

Uses `matplotlib.figure.Figure` directly (Agg, no pyplot), so nothing global is touched and
charts can be drawn from any thread.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bot.digest import Digest
from bot.fairness import Flag

ROW_INCHES = 0.32
BASE_INCHES = 1.8
WIDTH_INCHES = 8.0
DPI = 100
BAR_COLOR = "#4C78A8"
FLAG_COLORS = {Flag.STARVED: "#F58518", Flag.HOARDING: "#E45756"}
FAIR_COLOR = "#222222"


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


def fairness_chart(digest: Digest, names: dict[str, str] | None = None) -> bytes:
    """A horizontal bar per rep (credited leads) with a marker at their fair share.

    Rep labels are display names from `names` (Slack user id → name) or the user id.
    Starved reps' bars are orange and hoarding reps' bars red, as in the digest text.
    """
    names = names or {}
    reps = digest.reps
    figure = Figure(figsize=(WIDTH_INCHES, BASE_INCHES + ROW_INCHES * max(len(reps), 3)), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(_title(digest), fontsize=11)
    if not reps:
        axes.text(0.5, 0.5, "No eligible reps this week", ha="center", va="center")
        axes.set_axis_off()
    else:
        rows = range(len(reps))
        axes.barh(rows, [r.credited for r in reps], height=0.6, color=[_bar_color(r.flags) for r in reps])
        axes.scatter([r.fair_share for r in reps], rows, marker="D", s=28, color=FAIR_COLOR, zorder=3)
        axes.set_yticks(rows, [names.get(r.slack_user_id, r.slack_user_id) for r in reps])
        axes.invert_yaxis()  # first rep (lowest ratio) on top
        axes.set_xlabel("leads")
        axes.set_xlim(left=0)
        axes.grid(axis="x", alpha=0.3)
        figure.legend(handles=_legend(digest), loc="outside lower center", ncols=4, fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def chart_alt_text(digest: Digest, names: dict[str, str] | None = None) -> str:
    """One or two sentences describing the chart for screen readers."""
    names = names or {}

    def who(flag: Flag) -> list[str]:
        return [names.get(r.slack_user_id, r.slack_user_id) for r in digest.reps if flag in r.flags]

    text = (
        f"Bar chart of credited leads against fair share for {len(digest.reps)} reps of "
        f"{digest.team_name}, {digest.label}, {digest.leads.total} leads in."
    )
    starved, hoarding = who(Flag.STARVED), who(Flag.HOARDING)
    if starved:
        text += f" Below half their fair share: {', '.join(starved)}."
    if hoarding:
        text += f" Flagged for hoarding: {', '.join(hoarding)}."
    if digest.gini is not None:
        text += f" Gini {digest.gini:.2f} (0 is perfectly fair)."
    return text
