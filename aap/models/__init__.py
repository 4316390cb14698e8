"""The domain model (SPEC section 3). Money is integer cents; datetimes are UTC-aware."""

from aap.models.accounts import ApiToken, Membership, PasswordResetToken, User, UserRole
from aap.models.applications import (
    Application,
    Attachment,
    BudgetLine,
    ReferenceCounter,
)
from aap.models.audit import AuditEvent, Notification
from aap.models.authorities import Authority, StaffInvitation
from aap.models.calls import Call, Criterion, Envelope, Fund, JuryMember
from aap.models.finance import (
    Convention,
    Decision,
    Payment,
    Repayment,
    Report,
    ReportLine,
)
from aap.models.jobs import ExportJob
from aap.models.organisations import Invitation, Organisation, OrganisationJoinRequest
from aap.models.reviews import AllocationRow, AllocationRun, Review, ReviewScore

__all__ = [
    "AllocationRow",
    "AllocationRun",
    "ApiToken",
    "Application",
    "Attachment",
    "AuditEvent",
    "Authority",
    "BudgetLine",
    "Call",
    "Convention",
    "Criterion",
    "Decision",
    "Envelope",
    "ExportJob",
    "Fund",
    "Invitation",
    "JuryMember",
    "Membership",
    "Notification",
    "Organisation",
    "OrganisationJoinRequest",
    "PasswordResetToken",
    "Payment",
    "ReferenceCounter",
    "Repayment",
    "Report",
    "ReportLine",
    "Review",
    "ReviewScore",
    "StaffInvitation",
    "User",
    "UserRole",
]
