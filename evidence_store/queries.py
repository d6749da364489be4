"""Read-only queries for listings and summaries."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import String, select

from evidence_store.db import Database
from evidence_store.listings.files import entry_type
from evidence_store.models import (CarvedObjectRow, Exhibit, FileEntry, Finding, ProcessingRun,
                                   ProcessingWarning, Volume)

FILE_COLUMNS = ("id", "path", "inode", "allocated", "size", "mtime", "atime", "ctime", "crtime",
                "fn_crtime", "fn_mtime", "fn_ctime", "fn_atime", "time_anomaly",
                "md5", "sha1", "sha256", "mime_type", "description", "extension_mismatch",
                "hash_status", "data_stream", "locator", "known_good", "restricted", "pdq_hash", "pdq_quality",
                "tlsh", "parent_id", "depth", "extractor")


def iter_files(db: Database, exhibit_id: int, *, deleted_only: bool = False, derived: bool | None = None,
               limit: int | None = None) -> Iterator[dict]:
    """The exhibit's entries; ``derived`` True: only those found inside containers, False: only walked ones."""
    with db.session() as session:
        query = (select(FileEntry, Volume.volume_path).join(Volume, Volume.id == FileEntry.volume_id)
                 .where(FileEntry.exhibit_id == exhibit_id).order_by(FileEntry.id))
        if deleted_only:
            query = query.where(FileEntry.allocated.is_(False))
        if derived is not None:
            query = query.where(FileEntry.parent_id.is_not(None) if derived else FileEntry.parent_id.is_(None))
        if limit:
            query = query.limit(limit)
        for entry, volume_path in session.execute(query).yield_per(1000):
            row = {name: getattr(entry, name) for name in FILE_COLUMNS}
            row["volume"] = volume_path
            row["entry_type"] = entry_type(entry.name_type, entry.meta_type)
            yield row


def list_warnings(db: Database, exhibit_id: int) -> list[dict]:
    with db.session() as session:
        rows = session.scalars(select(ProcessingWarning).where(
            ProcessingWarning.exhibit_id == exhibit_id).order_by(ProcessingWarning.id))
        return [{"id": w.id, "stage": w.stage, "severity": w.severity, "path": w.path,
                 "message": w.message, "detail": w.detail, "created_at": w.created_at} for w in rows]


def list_runs(db: Database, exhibit_id: int) -> list[dict]:
    with db.session() as session:
        rows = session.scalars(select(ProcessingRun).where(
            ProcessingRun.exhibit_id == exhibit_id).order_by(ProcessingRun.id))
        return [{"id": r.id, "stage": r.stage, "orchestrator": r.orchestrator, "outcome": r.outcome,
                 "started_at": r.started_at, "ended_at": r.ended_at, "tool_version": r.tool_version,
                 "parameters": r.parameters, "libraries": r.library_versions, "message": r.message}
                for r in rows]


def list_exhibits(db: Database, case_id: int) -> list[Exhibit]:
    with db.session() as session:
        return list(session.scalars(select(Exhibit).where(Exhibit.case_id == case_id).order_by(Exhibit.id)))


def list_volumes(db: Database, exhibit_id: int) -> list[Volume]:
    with db.session() as session:
        return list(session.scalars(select(Volume).where(Volume.exhibit_id == exhibit_id).order_by(Volume.id)))


CARVED_COLUMNS = ("id", "format", "extension", "status", "size", "image_ranges", "source", "volume_path", "carver",
                  "carver_version", "md5", "sha1", "sha256", "mime_type", "description", "artifact_path",
                  "duplicate_of", "embedded_in", "note", "known_good", "restricted", "pdq_hash", "tlsh")


def iter_carved(db: Database, exhibit_id: int, *, only_new: bool = False) -> Iterator[dict]:
    with db.session() as session:
        query = select(CarvedObjectRow).where(CarvedObjectRow.exhibit_id == exhibit_id).order_by(CarvedObjectRow.id)
        if only_new:
            query = query.where(CarvedObjectRow.duplicate_of.is_(None), CarvedObjectRow.embedded_in.is_(None))
        for row in session.scalars(query).yield_per(1000):
            yield {name: getattr(row, name) for name in CARVED_COLUMNS}


def iter_findings(db: Database, case_name: str, exhibit: str | None = None) -> Iterator[dict]:
    from evidence_store.store import get_case, get_exhibit

    with db.session() as session:
        case = get_case(session, case_name)
        query = (select(Finding, Exhibit.number, FileEntry.path).join(Exhibit, Exhibit.id == Finding.exhibit_id)
                 .outerjoin(FileEntry, FileEntry.id == Finding.file_entry_id)
                 .where(Exhibit.case_id == case.id).order_by(Finding.id))
        if exhibit:
            query = query.where(Exhibit.id == get_exhibit(session, case_name, exhibit).id)
        for finding, number, path in session.execute(query):
            yield {"id": finding.id, "exhibit": number, "file_entry_id": finding.file_entry_id, "path": path,
                   "carved_object_id": finding.carved_object_id, "matcher": finding.matcher,
                   "matcher_version": finding.matcher_version, "engine_versions": finding.engine_versions,
                   "set_name": finding.set_name, "set_version": finding.set_version,
                   "set_sha256": finding.set_sha256, "outcome": finding.outcome, "rule": finding.rule,
                   "category": finding.category, "known": finding.known, "detail": finding.detail,
                   "run_id": finding.run_id}


def similar_files(db: Database, case_name: str, file_id: int, limit: int = 10,
                  max_distance: int = 100) -> list[tuple[int, dict]]:
    """Nearest files of the case by TLSH distance (a linear pass over the case's digests)."""
    from evidence_store.store import StoreError, get_case
    from forensics.matchers.tlsh_digest import nearest

    with db.session() as session:
        case = get_case(session, case_name)
        query = (select(FileEntry.id, FileEntry.path, FileEntry.sha256, FileEntry.tlsh, Exhibit.number)
                 .join(Exhibit, Exhibit.id == FileEntry.exhibit_id)
                 .where(Exhibit.case_id == case.id, FileEntry.tlsh.is_not(None)))
        rows = {r.id: r for r in session.execute(query)}
    if file_id not in rows:
        raise StoreError(f"file {file_id} of case {case_name} has no TLSH digest (too small, too uniform, "
                         "an image, or not matched yet)")
    query_digest = rows[file_id].tlsh
    candidates = [(r.id, r.tlsh) for r in rows.values() if r.id != file_id]
    found = nearest(query_digest, candidates, k=limit, max_distance=max_distance)
    return [(distance, {"id": key, "path": rows[key].path, "sha256": rows[key].sha256,
                        "exhibit": rows[key].number}) for key, distance in found]


def iter_indicators(db: Database, case_name: str, exhibit: str | None = None,
                    kinds: tuple[str, ...] = ()) -> Iterator[dict]:
    """The identifiers found in a case's content, one row per item that holds them (equal content in two
    places gives both places), walked and derived entries first, then carved objects."""
    from sqlalchemy import literal

    from evidence_store.models import ContentIndicator as I
    from evidence_store.store import get_case, get_exhibit

    with db.session() as session:
        case = get_case(session, case_name)
        where = [Exhibit.case_id == case.id]
        if exhibit:
            where.append(Exhibit.id == get_exhibit(session, case_name, exhibit).id)
        if kinds:
            where.append(I.kind.in_(kinds))
        columns = (I.kind, I.value, I.offset, I.length, I.context, I.encoding, I.extractor, Exhibit.number)
        files = (select(*columns, literal("file").label("item"), FileEntry.id.label("item_id"),
                        FileEntry.path.label("path"))
                 .join(FileEntry, FileEntry.sha256 == I.sha256).join(Exhibit, Exhibit.id == FileEntry.exhibit_id)
                 .where(*where))
        carved = (select(*columns, literal("carved").label("item"), CarvedObjectRow.id.label("item_id"),
                         (literal("carved/") + CarvedObjectRow.id.cast(String) + "." + CarvedObjectRow.extension)
                         .label("path"))
                  .join(CarvedObjectRow, CarvedObjectRow.sha256 == I.sha256)
                  .join(Exhibit, Exhibit.id == CarvedObjectRow.exhibit_id).where(*where))
        query = files.union_all(carved).order_by("number", "item", "item_id", "offset", "kind")
        from evidence_store.models import FileSystemIndicator as S

        system = (select(S, Exhibit.number, Volume.volume_path).join(Exhibit, Exhibit.id == S.exhibit_id)
                  .join(Volume, Volume.id == S.volume_id).where(*where[:2] if exhibit else where[:1])
                  .order_by(Exhibit.number, S.volume_id, S.kind, S.value))
        if kinds:
            system = system.where(S.kind.in_(kinds))
        for found, number, volume_path in session.execute(system):    # the file systems' own identifiers first
            yield {"exhibit": number, "item": "volume", "item_id": found.volume_id,
                   "path": found.location if found.kind == "volume-serial" or volume_path == "/"
                   else f"{volume_path}{found.location}",
                   "kind": found.kind, "value": found.value, "offset": None, "length": None,
                   "context": f"{found.occurrences} path(s)", "encoding": None, "extractor": found.extractor}
        for row in session.execute(query):
            yield {"exhibit": row.number, "item": row.item, "item_id": row.item_id, "path": row.path,
                   "kind": row.kind, "value": row.value, "offset": row.offset, "length": row.length,
                   "context": row.context, "encoding": row.encoding, "extractor": row.extractor}
