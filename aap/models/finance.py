from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aap.database import UTCDateTime, utcnow
from aap.extensions import db

PAYMENT_KINDS = ("advance", "instalment", "balance")


class Decision(db.Model):
    """The deliberation that grants an amount."""

    __tablename__ = "decision"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    body: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100))
    decided_on: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="decision")


class Convention(db.Model):
    __tablename__ = "convention"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    signed_on: Mapped[date] = mapped_column(Date)
    # [{"kind": "advance", "share": 0.8}, {"kind": "balance", "share": 0.2}]; informative.
    schedule: Mapped[list[dict]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="convention")


class Payment(db.Model):
    """A *versement*."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("kind IN ('advance', 'instalment', 'balance')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    mandate: Mapped[str] = mapped_column(String(60), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="payments")


class Repayment(db.Model):
    """A *reversement*: money claimed back when it was not used."""

    __tablename__ = "repayment"
    __table_args__ = (CheckConstraint("amount_cents > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    claimed_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="repayments")


class Report(db.Model):
    """The *compte rendu financier* (CERFA 15059)."""

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint("beneficiaries_reached >= 0", name="beneficiaries_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    narrative: Mapped[str] = mapped_column(Text, default="")
    gap_explanation: Mapped[str] = mapped_column(Text, default="")
    beneficiaries_reached: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    application = relationship("Application", back_populates="report")
    lines: Mapped[list[ReportLine]] = relationship(
        back_populates="report", cascade="all, delete-orphan", lazy="selectin"
    )

    def realised(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {"charges": {}, "products": {}}
        for line in self.lines:
            out[line.side][line.code] = line.amount_cents
        return out


class ReportLine(db.Model):
    __tablename__ = "report_line"
    __table_args__ = (
        UniqueConstraint("report_id", "side", "code"),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        CheckConstraint("side IN ('charges', 'products')", name="side_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(30))
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    report: Mapped[Report] = relationship(back_populates="lines")
