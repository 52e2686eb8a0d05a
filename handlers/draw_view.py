"""`dibs verify-draw L-n`: a revealed fair-start draw recomputed, in words."""

from __future__ import annotations

from bot.draws import DrawCheck


def draw_check_text(check: DrawCheck) -> str:
    """The published inputs, the recomputation and the verdict (plain text for a terminal)."""
    entrants = "\n".join(f"  {rep}  ratio {ratio:.3f}" for rep, ratio in check.entrants)
    seed = "matches" if check.seed_matches else "does NOT match"
    winner = (
        f"recomputed winner {check.recomputed_winner} is the recorded winner"
        if check.recomputed_winner == check.recorded_winner
        else f"recomputed winner {check.recomputed_winner} is NOT the recorded winner {check.recorded_winner}"
    )
    verdict = "verified: the draw follows from what was published" if check.ok else "NOT verified"
    return (
        f"{check.lead} fair-start draw\n"
        f"commitment (shown on the card): {check.committed}\n"
        f"seed (revealed): {check.seed}\n"
        f"sha256(seed) {seed} the commitment\n"
        f"entrants (Slack id, credited-to-fair-share ratio):\n{entrants}\n"
        f"{winner}\n{verdict}"
    )
