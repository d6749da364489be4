"""Pipeline stages shared by ``forensics process`` and the Airflow DAG.

Each stage is a transaction-shaped function: it reads ids, calls one
:mod:`forensics` function, writes its records, and returns ids. Re-running a
stage upserts the same rows (unique keys on locators and warnings).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select, update

from evidence_store.db import Database
from evidence_store.carving import carving_summary, link_duplicates
from evidence_store.custody.ledger import Event, append
from evidence_store.custody.service import auto_checkpoint
from evidence_store.intake import fail_exhibit, verify_exhibit
from evidence_store.models import Exhibit, FileEntry, ProcessingWarning, Volume
from evidence_store.runs import RunContext, StageFailed, stage_run
from evidence_store.store import id_ranges, record_warning, upsert
from forensics.errors import ImageError, ItemError
from forensics.locator import locator_key
from forensics.models import ContentDigest, FileRecord, WalkWarning

WRITE_BATCH = 2000
HASH_COMMIT = 200
MAX_BATCHES = 256          # far below Airflow's max_map_length (1024 by default)
MIN_BATCH = 500
Credentials = Sequence[tuple[str, str]]
Tick = Callable[[int], None]

ENTRY_FIELDS = ("locator", "path", "name", "inode", "allocated", "name_type", "meta_type", "size",
                "mtime", "atime", "ctime", "crtime", "data_stream", "has_content")


def register(db: Database, exhibit_id: int, ctx: RunContext) -> int:
    """Checks the exhibit was verified at intake (hashing it now if it never was).

    An exhibit that failed earlier (e.g. its share was not mounted) is inspected
    again; one halted on a hash mismatch stays halted until overridden.
    """
    verify_exhibit(db, exhibit_id, ctx=ctx, force=_exhibit(db, exhibit_id).status == "failed")
    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        exhibit.status, exhibit.error = "processing", None
    return exhibit_id


def scan(db: Database, exhibit_id: int, ctx: RunContext, credentials: Credentials = ()) -> list[int]:
    """Records every volume; returns the ids of file systems to walk."""
    from forensics.volumes import scan_volumes

    exhibit = _exhibit(db, exhibit_id)
    params = {"credentials": [kind for kind, _ in credentials]}  # never the secrets themselves
    with stage_run(db, ctx, "scan", case_id=exhibit.case_id, exhibit_id=exhibit_id, parameters=params) as run:
        try:
            volumes = list(scan_volumes(exhibit.image_path, credentials))
        except ImageError as exc:
            fail_exhibit(db, exhibit_id, run.id, "scan", str(exc), exc.detail)
            raise StageFailed(exhibit.number, str(exc)) from exc
        with db.session() as session:
            upsert(session, Volume, [dict(
                exhibit_id=exhibit_id, locator=v.locator, locator_key=locator_key(v.locator),
                volume_path=v.volume_path, kind=v.kind, volume_system=v.volume_system, offset=v.offset,
                size=v.size, fs_type=v.fs_type, note=v.note,
                walk_status="pending" if v.kind == "filesystem" else "skipped") for v in volumes],
                keys=["exhibit_id", "locator_key"],
                update=["volume_path", "kind", "volume_system", "offset", "size", "fs_type", "note"])
            _mark_unlocked(session, exhibit_id, volumes)
            for v in volumes:
                if v.kind == "encrypted" or v.note:
                    record_warning(session, exhibit_id, "scan", f"{v.volume_path}: {v.note}",
                                   path=v.volume_path, run_id=run.id,
                                   severity="error" if v.kind == "encrypted" else "warning")
            return list(session.scalars(select(Volume.id).where(
                Volume.exhibit_id == exhibit_id, Volume.kind == "filesystem").order_by(Volume.id)))


def _mark_unlocked(session, exhibit_id: int, volumes) -> None:
    """A volume locked in an earlier scan whose contents this scan reached is now 'unlocked'."""
    current = {locator_key(v.locator) for v in volumes}
    for row in session.scalars(select(Volume).where(Volume.exhibit_id == exhibit_id, Volume.kind == "encrypted")):
        if row.locator_key not in current and any(row.locator in v.locator for v in volumes):
            row.kind, row.note = "unlocked", "unlocked with a supplied credential in a later scan"


def walk(db: Database, volume_id: int, ctx: RunContext, tick: Tick | None = None,
         credentials: Credentials = ()) -> int:
    """Walks one file system; writes entries in batches so a failure keeps what was walked."""
    from forensics.walk import walk_file_system

    with db.session() as session:
        volume = session.get(Volume, volume_id)
        exhibit = session.get(Exhibit, volume.exhibit_id)
        fs_locator, exhibit_id, case_id = volume.locator, exhibit.id, exhibit.case_id
        volume_path = volume.volume_path
    params = {"volume": volume_path}
    with stage_run(db, ctx, "walk", case_id=case_id, exhibit_id=exhibit_id, parameters=params,
                   key_parts=(volume_id,)) as run:
        state = {"count": 0, "status": "walked", "last": "/"}
        buffer: list[FileRecord | WalkWarning] = []

        def flush() -> None:
            entries = [r for r in buffer if isinstance(r, FileRecord)]
            with db.session() as session:
                _write_entries(session, exhibit_id, volume_id, entries)
                for warning in (r for r in buffer if isinstance(r, WalkWarning)):
                    state["status"] = "partial" if warning.fatal else state["status"]
                    record_warning(session, exhibit_id, "walk", f"{volume_path}: {warning.message}",
                                   path=warning.path, run_id=run.id, volume_id=volume_id)
            state["count"] += len(entries)
            state["last"] = entries[-1].path if entries else state["last"]
            buffer.clear()
            if tick:
                tick(len(entries))

        try:
            for record in walk_file_system(fs_locator, credentials):
                buffer.append(record)
                if len(buffer) >= WRITE_BATCH:
                    flush()
        except (OSError, IOError, RuntimeError, ImageError) as exc:
            flush()
            state["status"] = "partial"
            with db.session() as session:
                record_warning(session, exhibit_id, "walk", f"{volume_path}: walk stopped after "
                               f"{state['count']} entries, last at {state['last']}: {exc}", path=state["last"],
                               severity="error", run_id=run.id, volume_id=volume_id)
        flush()
        count, status = state["count"], state["status"]
        with db.session() as session:
            volume = session.get(Volume, volume_id)
            volume.walk_status = "failed" if status == "partial" and count == 0 else status
            volume.entry_count = count
        return count


def _write_entries(session, exhibit_id: int, volume_id: int, entries: list[FileRecord]) -> None:
    rows, seen = [], set()
    for entry in entries:
        key = locator_key(entry.locator)
        if key in seen:
            continue
        seen.add(key)
        row = {name: getattr(entry, name) for name in ENTRY_FIELDS}
        row.update(exhibit_id=exhibit_id, volume_id=volume_id, locator_key=key,
                   hash_status="pending" if entry.has_content else "none")
        rows.append(row)
    upsert(session, FileEntry, rows, keys=["volume_id", "locator_key"],
           update=[f for f in ENTRY_FIELDS if f != "locator"])


def plan_batches(db: Database, exhibit_id: int, max_batches: int = MAX_BATCHES,
                 min_batch: int = MIN_BATCH) -> list[list[int]]:
    """Splits the exhibit's readable entries into at most ``max_batches`` id ranges."""
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.has_content.is_(True))) or 0
        if total == 0:
            return []
        buckets = max(1, min(max_batches, -(-total // min_batch)))
        return id_ranges(session, FileEntry.id, FileEntry.exhibit_id == exhibit_id,
                         FileEntry.has_content.is_(True), buckets=buckets)


def hash_batch(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
               tick: Tick | None = None, credentials: Credentials = ()) -> int:
    """Hashes and types every readable entry with lo <= id <= hi not yet hashed."""
    from forensics.hashing import Digester
    from forensics.reader import StreamReader

    lo, hi = int(id_range[0]), int(id_range[1])
    exhibit = _exhibit(db, exhibit_id)
    with stage_run(db, ctx, "hash", case_id=exhibit.case_id, exhibit_id=exhibit_id,
                   parameters={"first_id": lo, "last_id": hi}, key_parts=(lo, hi)) as run:
        with db.session() as session:
            todo = session.execute(select(FileEntry.id, FileEntry.locator, FileEntry.path, FileEntry.volume_id,
                                          FileEntry.size)
                                   .where(FileEntry.exhibit_id == exhibit_id, FileEntry.id.between(lo, hi),
                                          FileEntry.has_content.is_(True), FileEntry.hash_status != "hashed")
                                   .order_by(FileEntry.id)).all()
        digester, done = Digester(StreamReader(credentials)), 0
        for start in range(0, len(todo), HASH_COMMIT):
            chunk = todo[start:start + HASH_COMMIT]
            results = [_digest(digester, row) for row in chunk]   # read outside any transaction
            with db.session() as session:
                _write_digests(session, exhibit_id, run.id, chunk, results)
            done += len(chunk)
            if tick:
                tick(len(chunk))
        return done


def _digest(digester, row) -> ContentDigest | ItemError:
    try:
        return digester.digest(row.locator, row.path)
    except ItemError as exc:
        return exc


def _write_digests(session, exhibit_id: int, run_id: int, rows, results) -> None:
    """One executemany UPDATE by primary key for the chunk, plus warnings for what failed."""
    updates = []
    for row, result in zip(rows, results):
        if isinstance(result, ItemError):
            updates.append({"id": row.id, "hash_status": "unreadable"})
            record_warning(session, exhibit_id, "hash", f"cannot read {row.path}: {result}", path=row.path,
                           run_id=run_id, volume_id=row.volume_id, file_entry_id=row.id)
            continue
        updates.append({"id": row.id, "md5": result.md5, "sha1": result.sha1, "sha256": result.sha256,
                        "bytes_hashed": result.size, "mime_type": result.mime_type,
                        "description": result.description, "extension_mismatch": result.extension_mismatch,
                        "hash_status": "hashed"})
        if row.size is not None and result.size != row.size:
            record_warning(session, exhibit_id, "hash", f"{row.path}: read {result.size} of {row.size} bytes "
                           "(the file system holds no data for the rest, e.g. sparse or uninitialized); "
                           "hashes cover what was read", path=row.path, run_id=run_id,
                           volume_id=row.volume_id, file_entry_id=row.id)
    hashed = [u for u in updates if u["hash_status"] == "hashed"]
    failed = [u for u in updates if u["hash_status"] != "hashed"]
    for group in (hashed, failed):
        if group:
            session.execute(update(FileEntry), group)


def finalize(db: Database, exhibit_id: int, ctx: RunContext) -> dict[str, int | str]:
    """Re-hashes the image, compares with intake, marks the exhibit complete, signs a checkpoint."""
    from forensics.image import hash_media, inspect_source

    exhibit = _exhibit(db, exhibit_id)
    with stage_run(db, ctx, "finalize", case_id=exhibit.case_id, exhibit_id=exhibit_id,
                   parameters={"rehash": "sha256"}) as run:
        try:
            after = hash_media(inspect_source(exhibit.image_path), algorithms=("sha256",)).sha256
        except ImageError as exc:
            after, problem = None, str(exc)
        else:
            problem = None if after == exhibit.sha256 else (
                f"the image's SHA-256 is now {after}, it was {exhibit.sha256} at intake")
        with db.session() as session:
            row = session.get(Exhibit, exhibit_id)
            row.status = "complete"
            if problem:
                row.results_trusted = False
                record_warning(session, exhibit_id, "finalize", f"integrity check failed: {problem}; results "
                               "are untrusted until reviewed (forensics evidence review)", severity="error",
                               run_id=run.id)
            append(session, Event(
                action="integrity-check", actor=ctx.actor, actor_role=ctx.role, case_name=row.case.name,
                exhibit=row.number, hash_algorithm="sha256", hash_before=row.sha256, hash_after=after or "unreadable",
                hash_match=after == row.sha256, details={"run_id": run.id, "problem": problem},
                idempotency_key=f"integrity-check:{run.run_key}"))
            link_duplicates(session, exhibit_id)
            auto_checkpoint(session, row.case.name)
        summary = summarize(db, exhibit_id)
        return summary


def summarize(db: Database, exhibit_id: int) -> dict[str, int | str]:
    with db.session() as session:
        def count(*where) -> int:
            return session.scalar(select(func.count()).select_from(FileEntry).where(
                FileEntry.exhibit_id == exhibit_id, *where)) or 0
        exhibit = session.get(Exhibit, exhibit_id)
        return {
            "exhibit": exhibit.number, "status": exhibit.status, "verification": exhibit.verification,
            "volumes": session.scalar(select(func.count()).select_from(Volume).where(
                Volume.exhibit_id == exhibit_id)) or 0,
            "entries": count(), "deleted": count(FileEntry.allocated.is_(False)),
            "hashed": count(FileEntry.hash_status == "hashed"),
            "unreadable": count(FileEntry.hash_status == "unreadable"),
            "extension_mismatches": count(FileEntry.extension_mismatch.is_(True)),
            "warnings": session.scalar(select(func.count()).select_from(ProcessingWarning).where(
                ProcessingWarning.exhibit_id == exhibit_id)) or 0,
            "results_trusted": exhibit.results_trusted,
            **carving_summary(session, exhibit_id),
        }


def _exhibit(db: Database, exhibit_id: int) -> Exhibit:
    with db.session() as session:
        return session.get(Exhibit, exhibit_id)
