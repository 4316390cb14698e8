from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from aap.database import UTCDateTime, utcnow
from aap.extensions import db


class Role(StrEnum):
    APPLICANT = "applicant"
    INSTRUCTOR = "instructor"
    JUROR = "juror"
    FINANCE = "finance"
    MANAGER = "manager"
    ADMIN = "admin"


#: The roles held in an authority (SPEC 2); with no authority they are platform-wide.
AUTHORITY_ROLES = (Role.INSTRUCTOR, Role.FINANCE, Role.JUROR, Role.MANAGER)


ROLES = tuple(r.value for r in Role)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Bumped at logout and password change: every session and remember-me cookie signed
    # with an older version stops working, on every process (sessions stay stateless).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last successful login (web or API); the dormant-account rule of
    # aap.services.privacy counts from it (from ``created_at`` when never set).
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when aap.services.privacy replaced the personal data by a pseudonym.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def roles(self) -> list[str]:
        """The roles held anywhere (platform-wide or in some authority)."""
        return sorted({r.role for r in self.role_rows})

    def has_role(self, *roles: str) -> bool:
        """Whether the user holds one of ``roles`` anywhere; what it may do with an object
        of an authority is for :mod:`aap.services.policies` to say."""
        return any(r.role in roles for r in self.role_rows)

    def role_authorities(self, *roles: str) -> frozenset[int | None]:
        """The authorities in which the user holds one of ``roles``; ``None`` in the set
        stands for a platform-wide role."""
        return frozenset(r.authority_id for r in self.role_rows if r.role in roles)

    def roles_in(self, authority_id: int | None) -> list[str]:
        """The roles held in one authority (``None``: the platform-wide ones)."""
        return sorted(r.role for r in self.role_rows if r.authority_id == authority_id)

    def set_roles(self, roles: list[str], authority_id: int | None = None) -> None:
        """Make ``roles`` the user's roles in ``authority_id`` (platform-wide for
        ``None``); the roles held elsewhere are kept."""
        wanted = set(roles)
        self.role_rows = [r for r in self.role_rows
                          if r.authority_id != authority_id or r.role in wanted]
        present = {r.role for r in self.role_rows if r.authority_id == authority_id}
        self.role_rows.extend(UserRole(role=r, authority_id=authority_id)
                              for r in sorted(wanted - present))

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        """The id and the session version (Flask-Login compares users by it)."""
        return f"{self.id}:{self.session_version}"

    def session_identity(self) -> str:
        """What Flask-Login signs into the session and the remember-me cookie at login
        (``login_manager.id_attribute``): ``accounts.session_identity``, dated."""
        from aap.services.accounts import session_identity

        return session_identity(self)

    def end_sessions(self) -> None:
        """Invalidate every session and remember-me cookie of this user, everywhere."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class UserRole(db.Model):
    """A role held platform-wide (no authority) or in one authority."""

    __tablename__ = "user_role"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "authority_id"),
        # NULLs are distinct in a unique constraint: one platform-wide row per role.
        Index("uq_user_role_platform_wide", "user_id", "role", unique=True,
              sqlite_where=text("authority_id IS NULL"),
              postgresql_where=text("authority_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    authority_id: Mapped[int | None] = mapped_column(
        ForeignKey("authority.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class Membership(db.Model):
    """A user acting for an organisation (several users may share one)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation = relationship("Organisation", back_populates="memberships")


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 digest is stored. ``last_used_at`` is written at
    most once a minute (``aap.services.accounts.TOKEN_TOUCH_INTERVAL``), not per request."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(default=False)

    def active_at(self, moment: datetime) -> bool:
        """Whether the token still opens the API at ``moment``."""
        return not self.revoked and self.expires_at > moment

    user: Mapped[User] = relationship()


class PasswordResetToken(db.Model):
    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
