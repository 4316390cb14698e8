from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
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

OVERFLOW_RULES = ("partial", "skip", "stop")


class Fund(db.Model):
    """A *dispositif*: who grants (the *attribuant*) and on which budget line."""

    __tablename__ = "fund"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The authority that runs the fund; none: platform-wide (a single-body install).
    authority_id: Mapped[int | None] = mapped_column(
        ForeignKey("authority.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    owner_name: Mapped[str] = mapped_column(String(300))
    owner_siret: Mapped[str] = mapped_column(String(14))
    # Budget imputation (M57): chapter / nature / function, and the sub-policy code.
    imputation_chapter: Mapped[str] = mapped_column(String(10), default="65")
    imputation_nature: Mapped[str] = mapped_column(String(10), default="65748")
    imputation_function: Mapped[str] = mapped_column(String(10), default="")
    imputation_subpolicy: Mapped[str] = mapped_column(String(20), default="")
    # CERFA 12156 product line on which applicants put the amount asked of this owner.
    owner_product_line: Mapped[str] = mapped_column(String(20), default="74_epci")
    notification_ue: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    calls: Mapped[list[Call]] = relationship(back_populates="fund")
    authority = relationship("Authority")

    @property
    def imputation(self) -> dict[str, str]:
        return {
            "chapter": self.imputation_chapter,
            "nature": self.imputation_nature,
            "function": self.imputation_function,
            "subpolicy": self.imputation_subpolicy,
        }


class Call(db.Model):
    """An *appel à projets*: one fiscal year, one budget envelope, one jury, one grid."""

    __tablename__ = "call"
    __table_args__ = (
        CheckConstraint("budget_cents >= 0", name="budget_non_negative"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("overflow IN ('partial', 'skip', 'stop')", name="overflow_rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    fiscal_year: Mapped[int]
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    min_request_cents: Mapped[int | None] = mapped_column(BigInteger)
    max_request_cents: Mapped[int | None] = mapped_column(BigInteger)
    max_share_of_cost: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    scale: Mapped[int] = mapped_column(default=20)
    min_total: Mapped[Decimal] = mapped_column(Numeric(8, 3), default=Decimal(0))
    min_reviews: Mapped[int] = mapped_column(default=1)
    overflow: Mapped[str] = mapped_column(String(10), default="partial")
    partial_min_share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal("0.5"))
    disagreement_threshold: Mapped[Decimal] = mapped_column(Numeric(8, 3), default=Decimal(4))
    completion_days: Mapped[int] = mapped_column(default=15)
    # Allocation (SPEC 5): the common pool of the envelopes' leftovers, the caps and the
    # grey zone of scores drawn around the funding line.
    pool_leftovers: Mapped[bool] = mapped_column(default=False, server_default=false())
    cap_per_application_cents: Mapped[int | None] = mapped_column(BigInteger)
    cap_share_of_cost: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    cap_per_organisation_cents: Mapped[int | None] = mapped_column(BigInteger)
    grey_zone: Mapped[Decimal] = mapped_column(Numeric(8, 3), default=Decimal(0),
                                               server_default="0")
    # A convention is required above this grant (décret 2001-495: 23 000 €), and a final
    # report whose spending differs from the budget by more than this share is explained.
    convention_threshold_cents: Mapped[int] = mapped_column(
        BigInteger, default=23_000_00, server_default="2300000")
    report_gap_threshold: Mapped[Decimal] = mapped_column(
        Numeric(5, 4), default=Decimal("0.15"), server_default="0.15")
    workflow: Mapped[str] = mapped_column(String(40), default="application")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fund: Mapped[Fund] = relationship(back_populates="calls", lazy="joined")
    envelopes: Mapped[list[Envelope]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Envelope.id",
        lazy="selectin",
    )
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="Criterion.position",
        lazy="selectin",
    )
    # Loaded when read, not with every call: a big call's jury is hundreds of members
    # (with their accounts and roles), and every application loads its call.
    jury: Mapped[list[JuryMember]] = relationship(
        back_populates="call", cascade="all, delete-orphan", lazy="select"
    )

    def is_open(self, at: datetime) -> bool:
        return self.opens_at <= at < self.closes_at

    def envelope(self, key: str | None) -> Envelope | None:
        return next((e for e in self.envelopes if e.key == key), None)


class Envelope(db.Model):
    """A sub-envelope of a call's budget (per territory or per axis)."""

    __tablename__ = "envelope"
    __table_args__ = (
        UniqueConstraint("call_id", "key"),
        CheckConstraint("budget_cents >= 0", name="budget_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    budget_cents: Mapped[int] = mapped_column(BigInteger)

    call: Mapped[Call] = relationship(back_populates="envelopes")


class Criterion(db.Model):
    """One line of the scoring grid: a juror gives 0..max, weighted in the total."""

    __tablename__ = "criterion"
    __table_args__ = (
        UniqueConstraint("call_id", "key"),
        CheckConstraint("weight > 0", name="weight_positive"),
        CheckConstraint("max_score > 0", name="max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(300))
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 3), default=Decimal(1))
    max_score: Mapped[int] = mapped_column(default=5)
    position: Mapped[int] = mapped_column(default=0)

    call: Mapped[Call] = relationship(back_populates="criteria")


class JuryMember(db.Model):
    __tablename__ = "jury_member"
    __table_args__ = (UniqueConstraint("call_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    call: Mapped[Call] = relationship(back_populates="jury")
    user = relationship("User", lazy="joined")
