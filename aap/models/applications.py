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


class Application(db.Model):
    """A *dossier*. Its ``state`` is written only by the workflow engine."""

    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint("requested_cents >= 0", name="requested_non_negative"),
        CheckConstraint("proposed_cents >= 0", name="proposed_non_negative"),
        CheckConstraint("committed_cents >= 0", name="committed_non_negative"),
        CheckConstraint("beneficiaries >= 0", name="beneficiaries_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(30), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    envelope_id: Mapped[int | None] = mapped_column(ForeignKey("envelope.id"))
    state: Mapped[str] = mapped_column(String(30), default="draft", index=True)

    title: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    target_public: Mapped[str] = mapped_column(Text, default="")
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    grounds: Mapped[list[str]] = mapped_column(JSON, default=list)
    territories: Mapped[list[str]] = mapped_column(JSON, default=list)
    beneficiaries: Mapped[int] = mapped_column(default=0)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    requested_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Amount proposed by the jury or an allocation run; holds no money.
    proposed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the application holds of the budget: the grant, or only what was paid
    # once cancelled or closed. Written by the workflow engine's effects.
    committed_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_message: Mapped[str | None] = mapped_column(Text)
    completion_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    call = relationship("Call", lazy="joined", innerjoin=True)
    organisation = relationship("Organisation", back_populates="applications", lazy="joined")
    envelope = relationship("Envelope")
    created_by = relationship("User")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="application", cascade="all, delete-orphan", lazy="selectin"
    )
    attachments = relationship(
        "Attachment", back_populates="application", cascade="all, delete-orphan"
    )
    reviews = relationship("Review", back_populates="application", cascade="all, delete-orphan")
    decision = relationship("Decision", back_populates="application", uselist=False)
    convention = relationship("Convention", back_populates="application", uselist=False)
    payments = relationship("Payment", back_populates="application", order_by="Payment.id")
    repayments = relationship("Repayment", back_populates="application")
    report = relationship("Report", back_populates="application", uselist=False)

    def budget(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {"charges": {}, "products": {}}
        for line in self.budget_lines:
            out[line.side][line.code] = line.amount_cents
        return out

    def set_budget(self, budget: dict[str, dict[str, int]]) -> None:
        existing = {(b.side, b.code): b for b in self.budget_lines}
        wanted: set[tuple[str, str]] = set()
        for side in ("charges", "products"):
            for code, cents in (budget.get(side) or {}).items():
                wanted.add((side, code))
                if (side, code) in existing:
                    existing[(side, code)].amount_cents = int(cents)
                else:
                    self.budget_lines.append(
                        BudgetLine(side=side, code=code, amount_cents=int(cents))
                    )
        self.budget_lines = [b for b in self.budget_lines if (b.side, b.code) in wanted]

    def total(self, side: str) -> int:
        return sum(b.amount_cents for b in self.budget_lines if b.side == side)

    @property
    def paid_cents(self) -> int:
        return sum(p.amount_cents for p in self.payments)

    @property
    def repaid_cents(self) -> int:
        return sum(r.amount_cents for r in self.repayments)

    @property
    def granted_cents(self) -> int:
        return self.decision.amount_cents if self.decision else 0

    def __repr__(self) -> str:
        return f"<Application {self.id} {self.reference or 'draft'} {self.state}>"


class BudgetLine(db.Model):
    """One CERFA 12156 line of the provisional budget (charges 60-68, 86; products 70-87)."""

    __tablename__ = "budget_line"
    __table_args__ = (
        UniqueConstraint("application_id", "side", "code"),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
        CheckConstraint("side IN ('charges', 'products')", name="side_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(30))
    amount_cents: Mapped[int] = mapped_column(BigInteger)

    application: Mapped[Application] = relationship(back_populates="budget_lines")


class Attachment(db.Model):
    """A file stored outside the web root under a random name."""

    __tablename__ = "attachment"
    __table_args__ = (CheckConstraint("size >= 0", name="size_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    application: Mapped[Application] = relationship(back_populates="attachments")


class ReferenceCounter(db.Model):
    """The last reference number given per fiscal year (``AAP-2026-0042``)."""

    __tablename__ = "reference_counter"

    fiscal_year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(default=0)
