"""The lab's reference knowledge (rule sets, hash sets) and the findings it produced."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text
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
    # {"uses": [external names the sources refer to], "defines": {name: fixed value given at add}}
    externals: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # which engine scans with the set (forensics.matchers.yara_x_engine): "yara-x" when YARA-X compiles
    # every source, "mixed" when it compiles some (libyara scans with the others), else "libyara";
    # engine_note says which files YARA-X refused and why
    engine: Mapped[str] = mapped_column(String(20), default="libyara", server_default="libyara")
    engine_path: Mapped[Optional[str]] = mapped_column(Text)        # the YARA-X compiled rules
    engine_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    engine_note: Mapped[Optional[str]] = mapped_column(Text)
    # engine "mixed": {"libyara": [files YARA-X refuses], "path": their libyara compiled file, "sha256": …,
    # "order": [every file in the set's order]}
    engine_split: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
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
    filter_path: Mapped[Optional[str]] = mapped_column(Text)           # digest filter (None: sets imported before 0015)
    filter_sha256: Mapped[Optional[str]] = mapped_column(String(64))   # checked by every worker that maps it
    created_at: Mapped[created]


def _hex(length: int):
    """Lower-case hex compared byte by byte: the "C" collation on PostgreSQL (a locale's collation
    makes every comparison of an NSRL-sized index build a strcoll call; SQLite compares bytes already)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _present(column: str) -> Index:
    """Indexed only where present: a list gives one hash per row, so the other two indexes stay empty
    (``column = value`` implies ``IS NOT NULL``; both databases use a partial index for it)."""
    where = text(f"{column} IS NOT NULL")
    return Index(f"ix_hashset_entries_{column}", column, sqlite_where=where, postgresql_where=where)


class HashSetEntry(Base):
    """An entry of any set, read through ``hashset_entries``: the parent of the per-set partitions on
    PostgreSQL (whose primary key is ``(id, hashset_id)``, as partitioning requires), the union view
    of the per-set tables on SQLite (evidence_store/hashset_tables.py). Written only by the bulk
    importer, into the set's own table."""

    __tablename__ = "hashset_entries"
    __table_args__ = (_present("md5"), _present("sha1"), _present("sha256"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    hashset_id: Mapped[int] = mapped_column(ForeignKey("hashsets.id"))
    md5: Mapped[md5hex] = mapped_column(_hex(32))
    sha1: Mapped[sha1hex] = mapped_column(_hex(40))
    sha256: Mapped[sha256hex] = mapped_column(_hex(64))
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
