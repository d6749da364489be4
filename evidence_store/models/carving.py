"""Carving: the ranges searched and the objects recovered."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, bigint, intpk, md5hex, sha1hex
from evidence_store.models.entries import MatchedContent


class CarveRangeRow(Base):
    """A byte range searched by the carver (so a report can say exactly where carving looked)."""

    __tablename__ = "carve_ranges"
    __table_args__ = (UniqueConstraint("exhibit_id", "locator_key", "offset", "length"),)
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    locator: Mapped[str] = mapped_column(Text)              # stream the offsets are in (usually the media)
    locator_key: Mapped[str] = mapped_column(String(64))
    offset: Mapped[bigint]
    length: Mapped[bigint]
    read_limit: Mapped[Optional[bigint]]
    image_offset: Mapped[Optional[bigint]]                 # media offset of `offset`, when a media slice
    source: Mapped[str] = mapped_column(String(20))         # unallocated | slack | unpartitioned | gap | ...
    volume_path: Mapped[Optional[str]] = mapped_column(String(200))
    fs_locator: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")   # pending | carved | failed
    objects: Mapped[Optional[int]]


class CarvedObjectRow(MatchedContent, Base):
    """An object recovered by carving, stored content-addressed in the case's artifact store."""

    __tablename__ = "carved_objects"
    __table_args__ = (UniqueConstraint("exhibit_id", "locator_key", "offset", "format"),)
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    range_id: Mapped[int] = mapped_column(ForeignKey("carve_ranges.id"))
    locator: Mapped[str] = mapped_column(Text)
    locator_key: Mapped[str] = mapped_column(String(64))
    offset: Mapped[bigint]
    size: Mapped[bigint]
    image_ranges: Mapped[list[list[int]]] = mapped_column(JSON)   # [[media offset, length], ...]
    format: Mapped[str] = mapped_column(String(20))
    extension: Mapped[str] = mapped_column(String(20))
    carver: Mapped[str] = mapped_column(String(40))
    carver_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))                 # complete | partial
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))
    volume_path: Mapped[Optional[str]] = mapped_column(String(200))
    embedded_in: Mapped[Optional[bigint]]                          # stream offset of the enclosing object
    md5: Mapped[md5hex]
    sha1: Mapped[sha1hex]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    artifact_path: Mapped[str] = mapped_column(Text)
    mime_type: Mapped[Optional[str]] = mapped_column(String(200))
    description: Mapped[Optional[str]] = mapped_column(Text)
    # a walked file with the same content: the object is not counted again
    duplicate_of: Mapped[Optional[int]] = mapped_column(ForeignKey("file_entries.id"))
