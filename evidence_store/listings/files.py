"""The file browser's listing: entries of a case or exhibit, filtered and searched.

Filters: a directory (its immediate children), name or hash search (exact MD5/SHA-1/SHA-256
or a name substring), content type prefix, deleted, restricted, known-good/known-bad, and
whether (or by which matcher) an entry has findings. Search values are bound parameters; a
LIKE pattern has its wildcards escaped.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from evidence_store.listings import Column, utc
from evidence_store.models import Exhibit, FileEntry, Finding, Volume

HEX = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
ENTRY_TYPES = {"r": "file", "d": "directory", "l": "link", "v": "virtual", "h": "link"}


def entry_type(name_type: str, meta_type: str) -> str:
    """file, directory, link, virtual or other: TSK's metadata type, else its name type."""
    return ENTRY_TYPES.get(meta_type, ENTRY_TYPES.get(name_type, "other"))


@dataclass(frozen=True)
class FileRow:
    id: int
    exhibit: str
    volume: str
    path: str
    name: str
    entry_type: str
    inode: int | None
    size: int | None
    deleted: bool
    mtime: datetime | None
    crtime: datetime | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    mime_type: str | None
    extension_mismatch: bool | None
    hash_status: str
    known_good: bool
    restricted: bool
    findings: int
    depth: int = 0                      # containers above it (0: found by the walk)


FILE_COLUMNS: tuple[Column, ...] = (
    Column("id", "Id", "int"), Column("exhibit", "Exhibit"), Column("volume", "Volume"), Column("path", "Path"),
    Column("name", "Name", summary=False), Column("entry_type", "Type"), Column("inode", "Inode", "int"),
    Column("size", "Size", "bytes"), Column("deleted", "Deleted", "bool"), Column("mtime", "Modified (UTC)", "time"),
    Column("crtime", "Created (UTC)", "time", summary=False), Column("md5", "MD5", "hash", summary=False),
    Column("sha1", "SHA-1", "hash", summary=False), Column("sha256", "SHA-256", "hash"),
    Column("mime_type", "Content type"), Column("extension_mismatch", "Type mismatch", "bool", summary=False),
    Column("hash_status", "Read", summary=False), Column("known_good", "Known-good", "bool"),
    Column("restricted", "Restricted", "bool"), Column("findings", "Findings", "int"),
    Column("depth", "In containers", "int", summary=False),
)


@dataclass(frozen=True)
class FileFilter:
    exhibit_id: int | None = None
    directory: str | None = None        # list the immediate children of this path
    search: str | None = None           # exact hash, or a name substring
    mime: str | None = None             # content type prefix, e.g. "image/"
    deleted: bool | None = None
    restricted: bool | None = None
    known: str | None = None            # good | bad
    finding: str | None = None          # any | none | yara | hashset | pdq
    derived: bool | None = None         # found inside a container (True) or by the walk (False)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def file_rows(session: Session, case_id: int, where: FileFilter = FileFilter(), *, limit: int = 200,
              after_id: int = 0) -> Iterator[FileRow]:
    findings = select(func.count()).select_from(Finding).where(Finding.file_entry_id == FileEntry.id,
                                                               Finding.outcome == "match").scalar_subquery()
    query = (select(FileEntry, Exhibit.number, Volume.volume_path, findings)
             .join(Exhibit, Exhibit.id == FileEntry.exhibit_id).join(Volume, Volume.id == FileEntry.volume_id)
             .where(Exhibit.case_id == case_id, FileEntry.id > after_id).order_by(FileEntry.id).limit(limit))
    if where.exhibit_id is not None:
        query = query.where(FileEntry.exhibit_id == where.exhibit_id)
    if where.directory is not None:
        base = where.directory.rstrip("/")
        query = query.where(FileEntry.path.like(_like(base) + "/%", escape="\\"),
                            ~FileEntry.path.like(_like(base) + "/%/%", escape="\\"))
    if where.search:
        term = where.search.strip()
        if HEX.fullmatch(term):
            column = {32: FileEntry.md5, 40: FileEntry.sha1, 64: FileEntry.sha256}[len(term)]
            query = query.where(column == term.lower())
        else:
            query = query.where(FileEntry.name.like("%" + _like(term) + "%", escape="\\"))
    if where.mime:
        query = query.where(FileEntry.mime_type.like(_like(where.mime) + "%", escape="\\"))
    if where.deleted is not None:
        query = query.where(FileEntry.allocated.is_(not where.deleted))
    if where.restricted is not None:
        query = query.where(FileEntry.restricted.is_(where.restricted))
    if where.derived is not None:
        query = query.where(FileEntry.parent_id.is_not(None) if where.derived else FileEntry.parent_id.is_(None))
    if where.known == "good":
        query = query.where(FileEntry.known_good.is_(True))
    elif where.known == "bad":
        query = query.where(exists().where(Finding.file_entry_id == FileEntry.id, Finding.known == "known-bad"))
    if where.finding == "none":
        query = query.where(~exists().where(Finding.file_entry_id == FileEntry.id, Finding.outcome == "match"))
    elif where.finding:
        matched = exists().where(Finding.file_entry_id == FileEntry.id, Finding.outcome == "match")
        if where.finding != "any":
            matched = exists().where(Finding.file_entry_id == FileEntry.id, Finding.outcome == "match",
                                     Finding.matcher == where.finding)
        query = query.where(matched)
    for entry, number, volume, count in session.execute(query):
        yield FileRow(
            id=entry.id, exhibit=number, volume=volume,
            path=entry.path, name=entry.name,                 # a named stream's path ends in :stream already
            entry_type=entry_type(entry.name_type, entry.meta_type),
            inode=entry.inode, size=entry.size, deleted=not entry.allocated, mtime=utc(entry.mtime),
            crtime=utc(entry.crtime), md5=entry.md5, sha1=entry.sha1, sha256=entry.sha256, mime_type=entry.mime_type,
            extension_mismatch=entry.extension_mismatch, hash_status=entry.hash_status, known_good=entry.known_good,
            restricted=entry.restricted, findings=int(count or 0), depth=entry.depth or 0)
