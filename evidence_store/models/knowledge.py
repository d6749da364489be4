"""The lab's reference knowledge (rule sets, hash sets) and the findings it produced."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import (
    Base,
    bigint,
    created,
    intpk,
    md5hex,
    sha1hex,
    sha256hex,
)


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
