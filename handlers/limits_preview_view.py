"""The answer to `/dibs limits preview KEY VALUE`: the team's last weeks under its limits and the
proposed one, the measures `dibs preview` shows, as an ephemeral Block Kit message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.limits_preview import PREVIEW_WEEKS, LimitsPreview
from bot.policy_report import PolicyReport
from handlers.blocks import context, escape, message, section
from handlers.simulation_view import report_cells

SHOWN = ("Gini", "Jain", "worst ratio", "rep-chosen", "value Gini", "quality spread", "1st contact", "SLA misses")
MEANING = (
    "Gini 0 / Jain 1: every rep got exactly their fair share (weight × time available). Worst ratio: the "
    "furthest-behind rep's leads ÷ fair share. Rep-chosen: owned leads the owner claimed (click or draw)."
)


def _column(label: str, report: PolicyReport) -> str:
    cells = report_cells(report)
    lines = [f"*{label}*", *(f"{name}: {cells[name]}" for name in SHOWN), f"flags: {cells['flags']}"]
    return "\n".join(lines)


def limits_preview_message(preview: LimitsPreview, reports: Sequence[PolicyReport]) -> dict[str, Any]:
    """Current against proposed, side by side; nothing was changed."""
    current, proposed = reports
    key = preview.key  # one of the known limits (validated before it was queued)
    heading = (
        f"Preview of `{key}` = {escape(preview.proposed)} (now {escape(preview.current)}) for "
        f"{escape(preview.team_name)}: the last {PREVIEW_WEEKS} complete weeks, {current.leads} lead(s), "
        "replayed under both. Nothing was changed."
    )
    summary = (
        f"Gini {current.gini:.3f} now, {proposed.gini:.3f} with `{key}` = {escape(preview.proposed)}; "
        f"rep-chosen {current.rep_chosen:.0%} now, {proposed.rep_chosen:.0%}."
    )
    blocks = [
        section(heading),
        section(
            summary,
            fields=[
                _column(f"Now ({escape(preview.current)})", current),
                _column(f"Proposed ({escape(preview.proposed)})", proposed),
            ],
        ),
        context(MEANING, f"To apply it: `/dibs limits set {key} {escape(preview.proposed)}`."),
    ]
    return message(f"{heading} {summary}", blocks)
