"""SQLAlchemy 2 typed models of the case database."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, MetaData,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
bigint = Annotated[int, mapped_column(BigInteger)]
md5hex = Annotated[Optional[str], mapped_column(String(32))]
sha1hex = Annotated[Optional[str], mapped_column(String(40))]
sha256hex = Annotated[Optional[str], mapped_column(String(64))]
utc = Annotated[Optional[datetime], mapped_column(DateTime(timezone=True))]
created = Annotated[datetime, mapped_column(DateTime(timezone=True), default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}


class Case(Base):
    __tablename__ = "cases"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    examiner: Mapped[str] = mapped_column(String(200), default="")
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
    data_stream: Mapped[str] = mapped_column(Text, default="")
    has_content: Mapped[bool] = mapped_column(Boolean, default=False)
    md5: Mapped[md5hex] = mapped_column(index=True)
    sha1: Mapped[sha1hex] = mapped_column(index=True)
    sha256: Mapped[sha256hex] = mapped_column(index=True)
    bytes_hashed: Mapped[Optional[bigint]]
    mime_type: Mapped[Optional[str]] = mapped_column(String(200))
    description: Mapped[Optional[str]] = mapped_column(Text)
    extension_mismatch: Mapped[Optional[bool]] = mapped_column(Boolean)
    # pending | hashed | unreadable | none (no content)
    hash_status: Mapped[str] = mapped_column(String(20), default="pending")


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


class CustodyEvent(Base):
    """One entry of an append-only, hash-chained custody ledger (docs/custody.md).

    Every column below except ``id`` is covered by ``event_hash``; times are kept as
    canonical strings so that what is hashed is exactly what is stored.
    """

    __tablename__ = "custody_events"
    __table_args__ = (UniqueConstraint("chain", "seq"), UniqueConstraint("idempotency_key"))
    id: Mapped[intpk]
    chain: Mapped[str] = mapped_column(String(200))          # case name, or "lab" for lab-wide events
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    event_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(40))
    case_name: Mapped[Optional[str]] = mapped_column(String(200))
    exhibit: Mapped[Optional[str]] = mapped_column(String(200))
    root_exhibit: Mapped[Optional[str]] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(100))
    witness: Mapped[Optional[str]] = mapped_column(String(200))
    occurred_at: Mapped[str] = mapped_column(String(40))     # UTC, canonical
    occurred_offset: Mapped[str] = mapped_column(String(8))  # the actor's own UTC offset, e.g. +02:00
    recorded_at: Mapped[str] = mapped_column(String(40))
    location: Mapped[Optional[str]] = mapped_column(Text)
    purpose: Mapped[Optional[str]] = mapped_column(Text)
    authority: Mapped[Optional[str]] = mapped_column(Text)
    from_custodian: Mapped[Optional[str]] = mapped_column(String(200))
    to_custodian: Mapped[Optional[str]] = mapped_column(String(200))
    seals_removed: Mapped[Optional[str]] = mapped_column(Text)   # canonical JSON list
    seals_applied: Mapped[Optional[str]] = mapped_column(Text)
    seal_intact: Mapped[Optional[bool]] = mapped_column(Boolean)
    hash_algorithm: Mapped[Optional[str]] = mapped_column(String(20))
    hash_before: Mapped[Optional[str]] = mapped_column(String(128))
    hash_after: Mapped[Optional[str]] = mapped_column(String(128))
    hash_match: Mapped[Optional[bool]] = mapped_column(Boolean)
    tool_name: Mapped[Optional[str]] = mapped_column(String(100))
    tool_version: Mapped[Optional[str]] = mapped_column(String(40))
    tool_parameters: Mapped[Optional[str]] = mapped_column(Text)  # canonical JSON object
    outcome: Mapped[Optional[str]] = mapped_column(String(20))
    details: Mapped[Optional[str]] = mapped_column(Text)          # canonical JSON object


class CustodyKey(Base):
    """A lab signing key's public half, registered before it signs anything."""

    __tablename__ = "custody_keys"
    __table_args__ = (UniqueConstraint("fingerprint"),)
    id: Mapped[intpk]
    fingerprint: Mapped[str] = mapped_column(String(64))     # SHA-256 of the raw Ed25519 public key
    public_key: Mapped[str] = mapped_column(String(64))      # raw public key, hex
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(40))


class CustodyCheckpoint(Base):
    """A signed statement: chain X had head H at sequence S, at time T."""

    __tablename__ = "custody_checkpoints"
    __table_args__ = (UniqueConstraint("chain", "seq", "key_fingerprint"),)
    id: Mapped[intpk]
    chain: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))      # Ed25519, hex


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


class RuleSet(Base):
    """A YARA rule set: its sources kept verbatim, compiled once, identified by content."""

    __tablename__ = "rulesets"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))             # digest of the sources (docs/matchers.md)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{name, sha256, size, text}]
    rule_count: Mapped[int]
    compiled_path: Mapped[str] = mapped_column(Text)
    compiled_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[created]


class HashSet(Base):
    """An imported list of known files (NSRL, lab lists, Project VIC...)."""

    __tablename__ = "hashsets"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))                # known-good | known-bad
    format: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))              # of the imported file's bytes
    default_category: Mapped[Optional[str]] = mapped_column(String(200))
    entries: Mapped[Optional[int]] = mapped_column(BigInteger)
    pdq_entries: Mapped[Optional[int]] = mapped_column(BigInteger)
    pdq_index_path: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[created]


class HashSetEntry(Base):
    __tablename__ = "hashset_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hashset_id: Mapped[int] = mapped_column(ForeignKey("hashsets.id"))
    md5: Mapped[md5hex] = mapped_column(index=True)
    sha1: Mapped[sha1hex] = mapped_column(index=True)
    sha256: Mapped[sha256hex] = mapped_column(index=True)
    pdq: Mapped[Optional[str]] = mapped_column(String(64))
    category: Mapped[Optional[str]] = mapped_column(String(200))
    name: Mapped[Optional[str]] = mapped_column(Text)
    size: Mapped[Optional[bigint]]
    reference: Mapped[Optional[str]] = mapped_column(String(200))


class Finding(Base):
    """One match of one matcher on one file or carved object, reproducible from its identity fields."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("exhibit_id", "finding_key"),)
    id: Mapped[intpk]
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    file_entry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("file_entries.id"), index=True)
    carved_object_id: Mapped[Optional[int]] = mapped_column(ForeignKey("carved_objects.id"), index=True)
    matcher: Mapped[str] = mapped_column(String(40))            # yara | hashset | pdq
    matcher_version: Mapped[str] = mapped_column(String(40))
    engine_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    set_name: Mapped[str] = mapped_column(String(200))
    set_version: Mapped[str] = mapped_column(String(100))
    set_sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))            # match | timeout | too-large | error
    rule: Mapped[Optional[str]] = mapped_column(String(300))    # rule name / matched hash algorithm / reference
    category: Mapped[Optional[str]] = mapped_column(String(200))
    known: Mapped[Optional[str]] = mapped_column(String(20))    # known-good | known-bad (hash sets, PDQ)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("processing_runs.id"))
    finding_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]
