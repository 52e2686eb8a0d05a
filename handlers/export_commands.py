"""`/dibs export [leads|claims|disputes|audit] [YYYY-MM-DD]` for managers: the team's data as a
CSV file in the manager's DM, written and shared by the outbox worker (bot/export.py)."""

from __future__ import annotations

from datetime import date

from bot.export import Dataset, queue_export, start_of
from handlers.blocks import escape
from handlers.commands import Caller, Subcommand, UsageError
from handlers.pipeline import Reply, reply


def export(caller: Caller, args: list[str]) -> Reply:
    manager = caller.require_member()
    dataset, since = Dataset.LEADS, None
    for word in args:
        if word.lower() in Dataset.__members__.values():
            dataset = Dataset(word.lower())
            continue
        try:
            since = date.fromisoformat(word)
        except ValueError:
            raise UsageError(
                f"{escape(word)} is neither leads, claims, disputes, audit nor a date like 2026-11-01"
            ) from None
    if len(args) > 2:
        raise UsageError("Say what to export and from which date, at most")
    queue_export(
        caller.session, manager, dataset, start_of(since, manager.team.timezone) if since else None, caller.now
    )
    shown = f" since {since.isoformat()}" if since else ""
    return reply(f"Exporting {manager.team.name}'s {dataset.value}{shown}: the CSV file comes to your DM shortly.")


SUBCOMMANDS = [
    Subcommand(
        "export",
        "/dibs export [leads|claims|disputes|audit] [2026-11-01]",
        "your team's data as a CSV file in your DM",
        export,
        manager_only=True,
    ),
]
