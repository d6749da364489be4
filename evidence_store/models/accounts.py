"""People: accounts with one role each, case membership, sessions, API tokens, login attempts.

Roles are fixed (``Role``); what each may do is the table in ``evidence_store.portal.rules``.
Passwords are argon2id hashes; session ids and API tokens are stored as SHA-256 digests only.
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, created, enum_column, intpk


class Role(str, enum.Enum):
    TECHNICIAN = "technician"   # submits and follows exhibits
    EXAMINER = "examiner"       # reviews results, tags, drafts reports
    REVIEWER = "reviewer"       # the only role that may reveal restricted material; authorises reports
    PROSECUTOR = "prosecutor"   # issued reports and finding summaries of assigned cases
    AUDITOR = "auditor"         # reads and verifies custody, exports bundles, sees who viewed what
    ADMIN = "admin"             # accounts only, no evidence


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name"),)
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[created]


class CaseMember(Base):
    """Access to a case is by membership; the role says what a member may do in it."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)
    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    created_at: Mapped[created]


class PortalSession(Base):
    """A signed-in browser; the cookie carries the id, the table keeps only its SHA-256."""

    __tablename__ = "portal_sessions"
    __table_args__ = (UniqueConstraint("id_sha256"),)
    id: Mapped[intpk]
    id_sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token for JSON clients (``forensics user token NAME``)."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_sha256"),)
    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[created]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginAttempt(Base):
    """Failed sign-ins, to slow down guessing per account name and per address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_at", "at"),)
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Tag(Base):
    """An examiner's tag on an item (file entry or carved object) of a case."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("case_id", "item", "item_id", "tag"),)
    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    item: Mapped[str] = mapped_column(String(10))          # file | carved
    item_id: Mapped[int]
    tag: Mapped[str] = mapped_column(String(100))
    note: Mapped[Optional[str]] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created]
