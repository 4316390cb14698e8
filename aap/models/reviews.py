from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aap.database import UTCDateTime, utcnow
from aap.extensions import db


class Review(db.Model):
    """One juror on one application. The row exists once the juror is assigned."""

    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("application_id", "juror_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("application.id", ondelete="CASCADE"), index=True
    )
    juror_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    conflict: Mapped[bool] = mapped_column(default=False)
    conflict_reason: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    submitted: Mapped[bool] = mapped_column(default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The weighted total on the call's scale, kept when the scores are saved.
    total: Mapped[Decimal | None] = mapped_column(Numeric(8, 3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    application = relationship("Application", back_populates="reviews")
    juror = relationship("User", lazy="joined")
    scores: Mapped[list[ReviewScore]] = relationship(
        back_populates="review", cascade="all, delete-orphan", lazy="selectin"
    )


class ReviewScore(db.Model):
    __tablename__ = "review_score"
    __table_args__ = (
        UniqueConstraint("review_id", "criterion_key"),
        CheckConstraint("score >= 0", name="score_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("review.id", ondelete="CASCADE"))
    criterion_key: Mapped[str] = mapped_column(String(60))
    score: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    comment: Mapped[str] = mapped_column(Text, default="")

    review: Mapped[Review] = relationship(back_populates="scores")


class AllocationRun(db.Model):
    """A simulated or committed allocation of a call's budget (SPEC section 5)."""

    __tablename__ = "allocation_run"
    __table_args__ = (
        CheckConstraint("budget_cents >= 0", name="budget_non_negative"),
        CheckConstraint("total_proposed_cents >= 0", name="total_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    min_total: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    aggregation: Mapped[str] = mapped_column(String(20), default="mean")
    overflow: Mapped[str] = mapped_column(String(10))
    partial_min_share: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    grey_zone: Mapped[Decimal] = mapped_column(Numeric(8, 3), default=Decimal(0))
    seed: Mapped[str] = mapped_column(String(200))
    committed: Mapped[bool] = mapped_column(default=False)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_proposed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # SHA-256 of the canonical inputs (aap.allocation.engine.canonical_inputs): a replay
    # recomputes it from ``parameters`` (every parameter of the run) and ``inputs`` (each
    # application as the engine saw it; loaded only when asked for: it is large).
    digest: Mapped[str] = mapped_column(String(64), default="", server_default="")
    parameters: Mapped[dict | None] = mapped_column(JSON)
    inputs: Mapped[list | None] = mapped_column(JSON, deferred=True)

    @property
    def document(self) -> dict:
        """The canonical inputs, as ``aap.allocation.engine.from_canonical`` takes them."""
        return {"parameters": self.parameters, "applications": self.inputs}
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def in_force(self) -> bool:
        return self.committed and self.superseded_at is None

    rows: Mapped[list[AllocationRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="AllocationRow.position"
    )


class AllocationRow(db.Model):
    __tablename__ = "allocation_row"
    __table_args__ = (
        UniqueConstraint("run_id", "application_id"),
        CheckConstraint("proposed_cents >= 0", name="proposed_non_negative"),
        CheckConstraint(
            "outcome IN ('funded', 'partial', 'waitlisted', 'rejected')", name="outcome_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_run.id", ondelete="CASCADE"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    position: Mapped[int]
    rank: Mapped[int | None]
    score: Mapped[Decimal | None] = mapped_column(Numeric(8, 3))
    requested_cents: Mapped[int] = mapped_column(BigInteger)
    proposed_cents: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    envelope: Mapped[str | None] = mapped_column(String(60))
    pooled_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    drawn: Mapped[bool] = mapped_column(default=False, server_default=false())

    run: Mapped[AllocationRun] = relationship(back_populates="rows")
    application = relationship("Application")
