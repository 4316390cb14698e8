from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aap.database import UTCDateTime, utcnow
from aap.extensions import db


class Organisation(db.Model):
    """An applicant body (*porteur*), usually an association.

    A SIRET belongs to one organisation: the unique index leaves out only the rows that
    migration 0004 found sharing a SIRET with an older organisation (``siret_duplicate``),
    kept as they were for an administrator to merge. A second applicant with the same
    SIRET asks to join the existing organisation instead (``OrganisationJoinRequest``)."""

    __tablename__ = "organisation"
    __table_args__ = (
        Index("uq_organisation_siret", "siret", unique=True,
              sqlite_where=text("NOT siret_duplicate"),
              postgresql_where=text("NOT siret_duplicate")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    siret: Mapped[str] = mapped_column(String(14), index=True)
    siret_duplicate: Mapped[bool] = mapped_column(Boolean, default=False,
                                                  server_default=false())
    rna: Mapped[str | None] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(120), default="")
    legal_representative: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(30))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships = relationship("Membership", back_populates="organisation")
    applications = relationship("Application", back_populates="organisation")


class Invitation(db.Model):
    """A member invites someone by e-mail to join the organisation (token digest only)."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation = relationship("Organisation")
    invited_by = relationship("User")


JOIN_REQUEST_STATUSES = ("pending", "accepted", "declined")


class OrganisationJoinRequest(db.Model):
    """An applicant asks to join an organisation (found by its SIRET); one of its members
    accepts (the requester becomes a member) or declines. One pending request per user and
    organisation (a partial unique index)."""

    __tablename__ = "organisation_join_request"
    __table_args__ = (
        Index("uq_organisation_join_request_pending", "organisation_id", "user_id",
              unique=True, sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
        CheckConstraint("status IN ('pending', 'accepted', 'declined')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))

    organisation = relationship("Organisation")
    user = relationship("User", foreign_keys=[user_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def pending(self) -> bool:
        return self.status == "pending"
