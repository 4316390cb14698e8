from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aap.database import UTCDateTime, utcnow
from aap.extensions import db


class AuditEvent(db.Model):
    """Append-only trail: a state change (``trigger`` set) or another audited action."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int] = mapped_column(index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("application.id"), index=True
    )
    action: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)

    actor = relationship("User", lazy="joined")

    @property
    def is_transition(self) -> bool:
        return self.trigger is not None


@event.listens_for(AuditEvent, "before_update")
def _audit_is_append_only(_mapper, _connection, target: AuditEvent) -> None:
    raise ValueError(f"audit event {target.id} is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _audit_is_never_deleted(_mapper, _connection, target: AuditEvent) -> None:
    raise ValueError(f"audit event {target.id} is append-only")


class Notification(db.Model):
    """An outbox row, written in the same transaction as the change it announces."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
