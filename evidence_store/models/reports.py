"""The lab's settings and the case reports it issues (ISO/IEC 17025 7.8)."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, created, enum_column, intpk, sha256hex, utc


class ReportState(str, enum.Enum):
    """draft -> authorised (a second person) -> issued (final, never changed)."""

    DRAFT = "draft"
    AUTHORISED = "authorised"
    ISSUED = "issued"


class ReportEdition(str, enum.Enum):
    """prosecution: no pictures at all; disclosure: pixelated greyscale thumbnails of non-restricted images."""

    PROSECUTION = "prosecution"
    DISCLOSURE = "disclosure"


class ReportFormat(str, enum.Enum):
    PDF = "pdf"
    HTML = "html"


class LabSettings(Base):
    """Set once per lab (``forensics lab configure``); one row, id 1."""

    __tablename__ = "lab_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(Text)
    accreditation: Mapped[Optional[str]] = mapped_column(Text)
    location: Mapped[Optional[str]] = mapped_column(Text)          # where the work is done, if not the address
    declaration: Mapped[Optional[str]] = mapped_column(Text)       # the lab's standard examiner declaration
    updated_at: Mapped[created]


class Report(Base):
    """One rendering of a case report; its file's SHA-256 is in the custody ledger at every step."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("report_id"),)
    id: Mapped[intpk]
    report_id: Mapped[str] = mapped_column(String(120))            # printed on every page
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    exhibits: Mapped[list[str]] = mapped_column(JSON)                # scope: exhibit numbers
    edition: Mapped[ReportEdition] = mapped_column(enum_column(ReportEdition, "report_edition"))
    format: Mapped[ReportFormat] = mapped_column(enum_column(ReportFormat, "report_format"))
    state: Mapped[ReportState] = mapped_column(enum_column(ReportState, "report_state"), default=ReportState.DRAFT)
    examiner: Mapped[str] = mapped_column(String(200))
    declaration: Mapped[str] = mapped_column(Text)
    reviewer: Mapped[Optional[str]] = mapped_column(String(200))
    review_note: Mapped[Optional[str]] = mapped_column(Text)
    amends: Mapped[Optional[str]] = mapped_column(String(120))     # report_id this one replaces
    superseded_by: Mapped[Optional[str]] = mapped_column(String(120))
    allow_incomplete: Mapped[bool] = mapped_column(default=False)
    incomplete: Mapped[Optional[list[str]]] = mapped_column(JSON)    # why, when allowed
    content_sha256: Mapped[sha256hex]                              # digest of what the report states
    findings_sha256: Mapped[sha256hex]
    findings: Mapped[Optional[int]]
    sha256: Mapped[sha256hex]                                      # of the current file's bytes
    path: Mapped[Optional[str]] = mapped_column(Text)
    ledger_head: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)   # signed checkpoint at issue
    created_at: Mapped[created]
    authorised_at: Mapped[utc]
    issued_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
