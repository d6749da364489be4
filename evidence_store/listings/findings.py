"""What matched, where: one row per finding, with the item's full location and identity.

Used by ``forensics findings``, the case report (tables, the embedded findings JSON
and CSV) and the portal. A restricted item (known-bad image material) is described by
path, size, hashes and category only; nothing here ever carries its bytes.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from evidence_store.listings import Column, utc
from evidence_store.models import CarvedObjectRow, Exhibit, FileEntry, Finding, Volume


@dataclass(frozen=True)
class FindingRow:
    id: int
    exhibit: str
    item: str                       # file | carved
    item_id: int
    location: str                   # image > partition offset > file system > path (inode), or media byte ranges
    path: str
    volume: str | None
    partition_offset: int | None
    fs_type: str | None
    inode: int | None
    media_ranges: tuple[tuple[int, int], ...]
    size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    mtime: datetime | None
    atime: datetime | None
    ctime: datetime | None
    crtime: datetime | None
    deleted: bool
    carved: bool
    restricted: bool
    matcher: str
    matcher_version: str
    set_name: str
    set_version: str
    set_sha256: str
    outcome: str
    rule: str | None
    category: str | None
    known: str | None


FINDING_COLUMNS: tuple[Column, ...] = (
    Column("id", "Finding", "int"),
    Column("exhibit", "Exhibit"),
    Column("item", "Item", summary=False),
    Column("item_id", "Item id", "int", summary=False),
    Column("location", "Location"),
    Column("path", "Path", summary=False),
    Column("volume", "Volume", summary=False),
    Column("partition_offset", "Partition offset", "int", summary=False),
    Column("fs_type", "File system", summary=False),
    Column("inode", "Inode", "int", summary=False),
    Column("media_ranges", "Media byte ranges", "list", summary=False),
    Column("size", "Size", "bytes"),
    Column("md5", "MD5", "hash", summary=False),
    Column("sha1", "SHA-1", "hash", summary=False),
    Column("sha256", "SHA-256", "hash"),
    Column("mtime", "Modified (UTC)", "time", summary=False),
    Column("atime", "Accessed (UTC)", "time", summary=False),
    Column("ctime", "Changed (UTC)", "time", summary=False),
    Column("crtime", "Created (UTC)", "time", summary=False),
    Column("deleted", "Deleted", "bool"),
    Column("carved", "Carved", "bool"),
    Column("restricted", "Restricted", "bool"),
    Column("matcher", "Matcher"),
    Column("matcher_version", "Matcher version", summary=False),
    Column("set_name", "Rule / hash set"),
    Column("set_version", "Set version", summary=False),
    Column("set_sha256", "Set SHA-256", "hash", summary=False),
    Column("outcome", "Outcome"),
    Column("rule", "Rule / matched on"),
    Column("category", "Category"),
    Column("known", "Known"),
)


def file_location(image: str, volume: str | None, offset: int | None, fs_type: str | None, path: str,
                  inode: int | None, extractor: str | None = None, depth: int = 0) -> str:
    """image > partition (offset) > file system > path (inode): enough to find the bytes again with TSK; a
    file found inside containers names the chain in its path and the extractor that listed it."""
    parts = [os.path.basename(image)]
    if volume:
        parts.append(f"{volume} at byte {offset:,}" if offset is not None else volume)
    if fs_type:
        parts.append(fs_type)
    inside = f" (inside {depth} container{'s' if depth != 1 else ''}, listed by {extractor})" if extractor else ""
    parts.append(path + (f" (inode {inode})" if inode is not None else "") + inside)
    return " > ".join(parts)


def carved_location(image: str, ranges: Sequence[Sequence[int]], source: str, volume: str | None) -> str:
    spans = ", ".join(f"bytes {start:,}-{start + length - 1:,}" for start, length in ranges) or "no media range"
    where = f"{source} of {volume}" if volume else source
    return f"{os.path.basename(image)} > media {spans} ({where})"


F_COLUMNS = ("id", "matcher", "matcher_version", "set_name", "set_version", "set_sha256", "outcome", "rule",
             "category", "known")
E_COLUMNS = ("id", "path", "data_stream", "inode", "size", "md5", "sha1", "sha256", "mtime", "atime", "ctime",
             "crtime", "allocated", "restricted", "extractor", "depth")
C_COLUMNS = ("id", "extension", "image_ranges", "source", "volume_path", "size", "md5", "sha1", "sha256",
             "restricted")


def finding_rows(session: Session, case_id: int, exhibit_ids: Sequence[int] | None = None,
                 *, notable: bool = False, after_id: int = 0, limit: int | None = None) -> Iterator[FindingRow]:
    """Findings of a case (optionally some exhibits), by exhibit then finding id, streamed.

    Plain columns, not ORM objects: a long listing must not pile up in the session's identity
    map (a 50,000-finding report would otherwise hold every finding and entry in memory).
    ``notable``: only matches that are not known-good (rule hits, known-bad references).
    """
    carved = aliased(CarvedObjectRow)
    columns = ([getattr(Finding, c).label(f"f_{c}") for c in F_COLUMNS]
               + [Exhibit.number, Exhibit.image_path, Volume.volume_path, Volume.offset, Volume.fs_type]
               + [getattr(FileEntry, c).label(f"e_{c}") for c in E_COLUMNS]
               + [getattr(carved, c).label(f"c_{c}") for c in C_COLUMNS])
    query = (select(*columns)
             .join(Exhibit, Exhibit.id == Finding.exhibit_id)
             .outerjoin(FileEntry, FileEntry.id == Finding.file_entry_id)
             .outerjoin(Volume, Volume.id == FileEntry.volume_id)
             .outerjoin(carved, carved.id == Finding.carved_object_id)
             .where(Exhibit.case_id == case_id, Finding.id > after_id)
             .order_by(Exhibit.id, Finding.id))
    if exhibit_ids is not None:
        query = query.where(Exhibit.id.in_(list(exhibit_ids)))
    if notable:
        query = query.where(Finding.outcome == "match", func.coalesce(Finding.known, "") != "known-good")
    if limit is not None:
        query = query.limit(limit)
    for row in session.execute(query.execution_options(yield_per=2000)):
        yield _row(row._mapping)


def _row(r) -> FindingRow:
    identity = {c: r[f"f_{c}"] for c in F_COLUMNS}
    identity["exhibit"] = r["number"]
    image = r["image_path"]
    if r["e_id"] is not None:
        path = r["e_path"]                          # a named stream's path names it already: /file.txt:stream
        return FindingRow(
            **identity, item="file", item_id=r["e_id"], path=path, volume=r["volume_path"],
            partition_offset=r["offset"], fs_type=r["fs_type"], inode=r["e_inode"], media_ranges=(),
            location=file_location(image, r["volume_path"], r["offset"], r["fs_type"], path, r["e_inode"],
                                   r["e_extractor"], r["e_depth"] or 0),
            size=r["e_size"], md5=r["e_md5"], sha1=r["e_sha1"], sha256=r["e_sha256"], mtime=utc(r["e_mtime"]),
            atime=utc(r["e_atime"]), ctime=utc(r["e_ctime"]), crtime=utc(r["e_crtime"]),
            deleted=not r["e_allocated"], carved=False, restricted=bool(r["e_restricted"]))
    present = r["c_id"] is not None
    ranges = tuple((int(a), int(b)) for a, b in (r["c_image_ranges"] or [])) if present else ()
    return FindingRow(
        **identity, item="carved", item_id=r["c_id"] if present else 0,
        path=f"carved/{r['c_id']}.{r['c_extension']}" if present else "(item removed)",
        volume=r["c_volume_path"] if present else None, partition_offset=None, fs_type=None, inode=None,
        media_ranges=ranges,
        location=carved_location(image, ranges, r["c_source"], r["c_volume_path"]) if present else "(item removed)",
        size=r["c_size"], md5=r["c_md5"], sha1=r["c_sha1"], sha256=r["c_sha256"], mtime=None, atime=None,
        ctime=None, crtime=None, deleted=False, carved=True, restricted=bool(present and r["c_restricted"]))
