"""Cases and exhibits (the seized media registered at intake)."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from evidence_store.models.base import (
    Base,
    bigint,
    created,
    intpk,
    md5hex,
    sha1hex,
    sha256hex,
)


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    examiner: Mapped[str] = mapped_column(String(200), default="")
    # who asked for the examination, their reference and the legal authority (ISO/IEC 17025 7.8.2.1 e)
    requester: Mapped[Optional[str]] = mapped_column(Text)
    request_reference: Mapped[Optional[str]] = mapped_column(String(200))
    legal_authority: Mapped[Optional[str]] = mapped_column(Text)
    contact: Mapped[Optional[str]] = mapped_column(Text)          # whom another unit asks about this case
    created_at: Mapped[created]
    exhibits: Mapped[list[Exhibit]] = relationship(back_populates="case")


class Exhibit(Base):
    __tablename__ = "exhibits"
    __table_args__ = (UniqueConstraint("case_id", "number"),)
    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    number: Mapped[str] = mapped_column(String(200))
    examiner: Mapped[str] = mapped_column(String(200))
    image_path: Mapped[str] = mapped_column(Text)
    description: Mapped[Optional[str]] = mapped_column(Text)      # as received, from the intake record
    image_format: Mapped[Optional[str]] = mapped_column(String(20))
    segments: Mapped[Optional[list[str]]] = mapped_column(JSON)
    media_locator: Mapped[Optional[str]] = mapped_column(Text)
    media_size: Mapped[Optional[bigint]]
    md5: Mapped[md5hex]
    sha1: Mapped[sha1hex]
    sha256: Mapped[sha256hex]
    expected_sha256: Mapped[sha256hex]
    stored_hashes: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # verified | mismatch | unverified (nothing to compare with) | override | pending
    verification: Mapped[str] = mapped_column(String(20), default="pending")
    override_reason: Mapped[Optional[str]] = mapped_column(Text)
    # registered | halted | failed | processing | complete
    status: Mapped[str] = mapped_column(String(20), default="registered")
    error: Mapped[Optional[str]] = mapped_column(Text)
    # False when the end-of-run re-hash of the image differed from intake, until a reviewer clears it
    results_trusted: Mapped[bool] = mapped_column(Boolean, default=True)
    custodian: Mapped[Optional[str]] = mapped_column(String(200))   # current holder, from transfers
    created_at: Mapped[created]
    case: Mapped[Case] = relationship(back_populates="exhibits")
