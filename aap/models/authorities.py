"""Authorities (*collectivités attribuantes*): the bodies that run funds on one instance."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aap.database import UTCDateTime, utcnow
from aap.extensions import db


class AuthorityKind(StrEnum):
    METROPOLE = "metropole"
    COUNCIL = "council"  # a territorial council (conseil de territoire) of a métropole
    COMMUNE = "commune"
    DEPARTMENT = "department"
    REGION = "region"
    OTHER = "other"


AUTHORITY_KINDS = tuple(k.value for k in AuthorityKind)


class Authority(db.Model):
    """A body that runs funds; its staff hold roles in it. A parent authority (the
    métropole over its councils and communes) reads its children's figures."""

    __tablename__ = "authority"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('metropole', 'council', 'commune', 'department', 'region', 'other')",
            name="kind_known"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_its_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("authority.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Authority | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Authority]] = relationship(back_populates="parent",
                                                     order_by="Authority.name")

    def __repr__(self) -> str:
        return f"<Authority {self.name}>"


class StaffInvitation(db.Model):
    """A manager invites someone by e-mail to hold staff roles in an authority; the roles
    are granted when the invitation is accepted. Only the token's SHA-256 digest is kept."""

    __tablename__ = "staff_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(
        ForeignKey("authority.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    roles: Mapped[list[str]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    authority: Mapped[Authority] = relationship()
    invited_by = relationship("User")

    def __repr__(self) -> str:
        return f"<StaffInvitation {self.email} in {self.authority_id}>"
