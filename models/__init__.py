"""ORM models; importing this package registers every table on `Base.metadata`."""

from models.base import Base
from models.crm import CrmEventIn
from models.dispute import Dispute, DisputeKind, DisputeOutcome, DisputeParty, DisputeStatus
from models.lead import (
    OWNING_CLAIM_STATUSES,
    Claim,
    ClaimStatus,
    CreditShare,
    How,
    Lead,
    LeadCard,
    LeadStatus,
)
from models.ops import REQUEST_DIGEST_PREFIX, AuditEvent, JobRun, OutboxKind, OutboxMessage, OutboxStatus, SeenEvent
from models.people import SlackUser
from models.team import AwayPeriod, Member, Role, Team

__all__ = [
    "OWNING_CLAIM_STATUSES",
    "REQUEST_DIGEST_PREFIX",
    "AuditEvent",
    "AwayPeriod",
    "Base",
    "Claim",
    "ClaimStatus",
    "CreditShare",
    "CrmEventIn",
    "Dispute",
    "DisputeKind",
    "DisputeOutcome",
    "DisputeParty",
    "DisputeStatus",
    "How",
    "JobRun",
    "Lead",
    "LeadCard",
    "LeadStatus",
    "Member",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Role",
    "SeenEvent",
    "SlackUser",
    "Team",
]
