"""Identifiers extracted from content (forensics.indicators), stored once per content (SHA-256):
every file entry or carved object with that content has them. Correlation across cases joins here."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, bigint, intpk


class ContentIndicator(Base):
    __tablename__ = "content_indicators"
    __table_args__ = (UniqueConstraint("sha256", "kind", "value_key", "offset"),
                      Index("ix_content_indicators_kind_value_key", "kind", "value_key"))
    id: Mapped[intpk]
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # the content it was found in
    kind: Mapped[str] = mapped_column(String(20))               # email | url | domain | ipv4 | ... | card
    value: Mapped[str] = mapped_column(Text)                    # normalised (forensics.indicators.registry)
    value_key: Mapped[str] = mapped_column(String(64))          # SHA-256 of kind NUL value (index, joins)
    offset: Mapped[bigint]                                      # byte offset in the content
    length: Mapped[int]
    context: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str] = mapped_column(String(10))           # ascii | utf-16le | pdf-text (offset: in the text layer)
    extractor: Mapped[str] = mapped_column(String(40))          # "wallet/1"


class FileSystemIndicator(Base):
    """Identifiers the file system carries (forensics.indicators.filesystem): its serial number, user names
    and account SIDs in paths; once per volume, with the shortest path that shows it and how many do."""

    __tablename__ = "fs_indicators"
    __table_args__ = (UniqueConstraint("volume_id", "kind", "value_key"),
                      Index("ix_fs_indicators_kind_value_key", "kind", "value_key"))
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    volume_id: Mapped[int] = mapped_column(ForeignKey("volumes.id"))
    kind: Mapped[str] = mapped_column(String(20))               # volume-serial | user | sid
    value: Mapped[str] = mapped_column(Text)
    value_key: Mapped[str] = mapped_column(String(64))          # SHA-256 of kind NUL value (as content_indicators)
    location: Mapped[str] = mapped_column(Text)                 # volume path, or the shortest path showing it
    occurrences: Mapped[int]
    extractor: Mapped[str] = mapped_column(String(40))
