"""What the walk and the content pass record: volumes and file entries."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import (
    Base,
    bigint,
    intpk,
    md5hex,
    sha1hex,
    sha256hex,
    utc,
)


class Volume(Base):
    __tablename__ = "volumes"
    __table_args__ = (UniqueConstraint("exhibit_id", "locator_key"),)
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    locator: Mapped[str] = mapped_column(Text)
    locator_key: Mapped[str] = mapped_column(String(64))
    volume_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    volume_system: Mapped[Optional[str]] = mapped_column(String(40))
    offset: Mapped[Optional[bigint]]
    size: Mapped[Optional[bigint]]
    fs_type: Mapped[Optional[str]] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    # pending | walked | partial | failed | skipped
    walk_status: Mapped[str] = mapped_column(String(20), default="pending")
    entry_count: Mapped[Optional[int]]


class MatchedContent:
    """What the match stage records on a file entry or a carved object."""

    pdq_hash: Mapped[Optional[str]] = mapped_column(String(64))
    pdq_quality: Mapped[Optional[int]]
    pdq_convention: Mapped[Optional[str]] = mapped_column(String(20))
    tlsh: Mapped[Optional[str]] = mapped_column(String(80))
    known_good: Mapped[bool] = mapped_column(Boolean, default=False)
    # matched known-bad image material: content is never shown without an explicit reviewer request
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    # digest of the rule sets, hash sets and limits last matched against ('pending' before)
    match_status: Mapped[str] = mapped_column(String(20), default="pending")


class FileEntry(MatchedContent, Base):
    __tablename__ = "file_entries"
    __table_args__ = (
        UniqueConstraint("volume_id", "locator_key"),
        Index("ix_file_entries_exhibit_id_id", "exhibit_id", "id"),
    )
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"))
    volume_id: Mapped[int] = mapped_column(ForeignKey("volumes.id"))
    locator: Mapped[str] = mapped_column(Text)
    locator_key: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    inode: Mapped[Optional[bigint]]
    allocated: Mapped[bool] = mapped_column(Boolean)
    name_type: Mapped[str] = mapped_column(String(2))
    meta_type: Mapped[str] = mapped_column(String(2))
    size: Mapped[Optional[bigint]]
    mtime: Mapped[utc]
    atime: Mapped[utc]
    ctime: Mapped[utc]
    crtime: Mapped[utc]
    # NTFS: $FILE_NAME times beside the $STANDARD_INFORMATION ones above, and why they disagree
    fn_crtime: Mapped[utc]
    fn_mtime: Mapped[utc]
    fn_ctime: Mapped[utc]
    fn_atime: Mapped[utc]
    time_anomaly: Mapped[Optional[str]] = mapped_column(Text)
    data_stream: Mapped[str] = mapped_column(Text, default="")
    has_content: Mapped[bool] = mapped_column(Boolean, default=False)
    # derived items (forensics.containers): the container entry this one was found in, how deep in the
    # chain of containers (0 = found by the walk) and the extractor ("zip/1") that listed it
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("file_entries.id"), index=True)
    depth: Mapped[int] = mapped_column(default=0, server_default="0")
    extractor: Mapped[Optional[str]] = mapped_column(String(40))
    md5: Mapped[md5hex] = mapped_column(index=True)
    sha1: Mapped[sha1hex] = mapped_column(index=True)
    sha256: Mapped[sha256hex] = mapped_column(index=True)
    bytes_hashed: Mapped[Optional[bigint]]
    mime_type: Mapped[Optional[str]] = mapped_column(String(200))
    description: Mapped[Optional[str]] = mapped_column(Text)
    extension_mismatch: Mapped[Optional[bool]] = mapped_column(Boolean)
    # pending | hashed | unreadable | none (no content)
    hash_status: Mapped[str] = mapped_column(String(20), default="pending")
