"""Processing runs and the warnings they recorded."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, created, intpk, utc


class ProcessingRun(Base):
    """One execution of one stage: what ran, with which versions and parameters, and how it ended."""

    __tablename__ = "processing_runs"
    __table_args__ = (UniqueConstraint("run_key"),)
    id: Mapped[intpk]
    run_key: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("cases.id"))
    exhibit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("exhibits.id"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    tool: Mapped[str] = mapped_column(String(100))
    tool_version: Mapped[str] = mapped_column(String(40))
    library_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    orchestrator: Mapped[str] = mapped_column(String(40))  # cli | airflow
    started_at: Mapped[created]
    ended_at: Mapped[utc]
    outcome: Mapped[str] = mapped_column(String(20), default="running")  # running|success|failed|halted
    message: Mapped[Optional[str]] = mapped_column(Text)


class ProcessingWarning(Base):
    """A damaged item or a stopped stage, recorded instead of crashing the run."""

    __tablename__ = "processing_warnings"
    __table_args__ = (UniqueConstraint("exhibit_id", "warning_key"),)
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("processing_runs.id"))
    volume_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volumes.id"))
    file_entry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("file_entries.id"))
    stage: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))  # warning | error
    path: Mapped[Optional[str]] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[Optional[str]] = mapped_column(Text)  # back end's full error text
    warning_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]
