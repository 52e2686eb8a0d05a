"""ORM models; importing this package registers every table on `Base.metadata`."""

from models.base import Base
from models.dispute import Dispute, DisputeKind, DisputeParty, DisputeStatus
from models.lead import (
    OWNING_CLAIM_STATUSES,
    Claim,
    ClaimStatus,
    CreditShare,
    Lead,
    LeadCard,
    LeadStatus,
)
from models.ops import AuditEvent, JobRun, OutboxMessage, OutboxStatus, SeenEvent
from models.people import SlackUser
from models.team import AwayPeriod, Member, Role, Team

__all__ = [
    "OWNING_CLAIM_STATUSES",
    "AuditEvent",
    "AwayPeriod",
    "Base",
    "Claim",
    "ClaimStatus",
    "CreditShare",
    "Dispute",
    "DisputeKind",
    "DisputeParty",
    "DisputeStatus",
    "JobRun",
    "Lead",
    "LeadCard",
    "LeadStatus",
    "Member",
    "OutboxMessage",
    "OutboxStatus",
    "Role",
    "SeenEvent",
    "SlackUser",
    "Team",
]
