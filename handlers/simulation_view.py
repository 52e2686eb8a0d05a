"""`dibs simulate` and `dibs preview` output: the policies side by side as a table, JSON or a PNG chart.

The chart uses `matplotlib.figure.Figure` directly (Agg, no pyplot), as handlers/chart.py does.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from bot.policy_report import PolicyReport

COLUMNS = (
    "policy",
    "Gini",
    "Jain",
    "worst ratio",
    "quality spread",
    "value Gini",
    "rep-chosen",
    "1st contact",
    "SLA misses",
    "disputes",
    "flags",
)


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} min"


def _flags(flags: dict[str, int]) -> str:
    return ", ".join(f"{flag} {count}" for flag, count in flags.items()) or "none"


def _row(r: PolicyReport) -> tuple[str, ...]:
    return (
        r.policy,
        f"{r.gini:.3f}",
        f"{r.jain:.3f}",
        _ratio(r.worst_ratio),
        f"{r.quality_spread:.2f}",
        f"{r.value_gini:.3f}",
        f"{r.rep_chosen:.0%}",
        _minutes(r.first_contact_minutes),
        str(r.sla_misses),
        str(r.disputes),
        _flags(r.flags),
    )


def report_cells(r: PolicyReport) -> dict[str, str]:
    """One policy's measures by column name, as the table shows them."""
    return dict(zip(COLUMNS, _row(r), strict=True))


def report_table(reports: Sequence[PolicyReport], heading: str) -> str:
    """A plain-text table, one policy a row, with what the measures mean underneath."""
    rows = [COLUMNS, *(_row(r) for r in reports)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    owned = ", ".join(f"{r.policy} {r.owned}/{r.leads}" for r in reports)
    return "\n".join(
        [
            heading,
            "",
            *lines,
            "",
            f"Leads owned at the end: {owned}.",
            "Gini 0 / Jain 1: every rep credited exactly their fair share (weight × time available). "
            "Worst ratio: the furthest-behind rep's credited ÷ fair share. Quality spread: highest minus "
            "lowest score-weighted ratio. Value Gini: the same for pipeline value (value × score/100). "
            "Rep-chosen: owned leads the owner claimed (click or draw). 1st contact: median from arrival.",
        ]
    )


def report_json(reports: Sequence[PolicyReport], world: dict[str, Any]) -> str:
    """Everything measured, per policy and per rep, with the world it was measured on."""
    return json.dumps({"world": world, "policies": [dataclasses.asdict(r) for r in reports]}, indent=2, default=str)


def report_chart(reports: Sequence[PolicyReport], title: str) -> bytes:
    """Each policy's reps, sorted by credited ÷ fair share: a flat line at 1 is perfectly fair."""
    figure = Figure(figsize=(8.0, 4.8), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title.replace("$", r"\$"), fontsize=11)
    for r in reports:
        ratios = sorted(rep.ratio for rep in r.reps if rep.ratio is not None)
        label = f"{r.policy} (Gini {r.gini:.3f}, {r.rep_chosen:.0%} rep-chosen)".replace("$", r"\$")
        axes.plot(range(1, len(ratios) + 1), ratios, marker="o", markersize=3, label=label)
    axes.axhline(1.0, color="#222222", linewidth=0.8, linestyle="--")
    axes.set_xlabel("reps, lowest ratio first")
    axes.set_ylabel("credited leads ÷ fair share")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
