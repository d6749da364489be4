"""Stages over the image's structure: register, scan (volumes), walk (one file system per item).

Each stage is a transaction-shaped function: it reads ids, calls one :mod:`forensics` function,
writes its records, and returns ids or counts. Re-running a stage upserts the same rows (unique
keys on locators and warnings). ``run_*``/``plan_*`` are the registry's uniform entry points.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select

from evidence_store.db import Database
from evidence_store.intake import fail_exhibit, verify_exhibit
from evidence_store.models import Exhibit, FileEntry, Volume
from evidence_store.runs import RunContext, StageFailed, stage_run
from evidence_store.stages.options import StageOptions
from evidence_store.store import record_warning, upsert
from forensics.errors import ImageError
from forensics.locator import locator_key
from forensics.models import FileRecord, WalkWarning

WRITE_BATCH = 2000
Credentials = Sequence[tuple[str, str]]
Tick = Callable[[int], None]

ENTRY_FIELDS = ("locator", "path", "name", "inode", "allocated", "name_type", "meta_type", "size",
                "mtime", "atime", "ctime", "crtime", "fn_crtime", "fn_mtime", "fn_ctime", "fn_atime", "time_anomaly",
                "data_stream", "has_content")


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

        paths: list[str] = []

        def flush() -> None:
            entries = [r for r in buffer if isinstance(r, FileRecord)]
            paths.extend(r.path for r in entries)
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
            _file_system_indicators(session, exhibit_id, volume_id, volume_path, fs_locator, credentials, paths)
            volume = session.get(Volume, volume_id)
            volume.walk_status = "failed" if status == "partial" and count == 0 else status
            volume.entry_count = count
        return count


def _file_system_indicators(session, exhibit_id: int, volume_id: int, volume_path: str, fs_locator: str,
                            credentials: Credentials, paths: list[str]) -> None:
    """The file system's serial number, and the user names and account SIDs its paths show (once each)."""
    from evidence_store.models import FileSystemIndicator
    from forensics.indicators import value_key
    from forensics.indicators.filesystem import SERIAL, from_paths
    from forensics.walk import file_system_serial

    rows = [dict(kind=s.kind, value=s.value, location=s.location, occurrences=s.occurrences, extractor=s.extractor)
            for s in from_paths(paths)]
    serial = file_system_serial(fs_locator, credentials)
    if serial:
        rows.append(dict(kind=SERIAL.kind, value=serial, location=volume_path, occurrences=1, extractor=SERIAL.label))
    for row in rows:
        row.update(exhibit_id=exhibit_id, volume_id=volume_id, value_key=value_key(row["kind"], row["value"]))
    upsert(session, FileSystemIndicator, rows, keys=["volume_id", "kind", "value_key"],
           update=["value", "location", "occurrences", "extractor"])


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


def plan_walk(db: Database, exhibit_id: int, ctx: RunContext, options: StageOptions) -> list[int]:
    """The file systems of the exhibit, one walk each."""
    with db.session() as session:
        return list(session.scalars(select(Volume.id).where(
            Volume.exhibit_id == exhibit_id, Volume.kind == "filesystem").order_by(Volume.id)))


def run_register(db: Database, exhibit_id: int, item: None, ctx: RunContext, options: StageOptions) -> int:
    return register(db, exhibit_id, ctx)


def run_scan(db: Database, exhibit_id: int, item: None, ctx: RunContext, options: StageOptions) -> int:
    return len(scan(db, exhibit_id, ctx, options.credentials))


def run_walk(db: Database, exhibit_id: int, volume_id: int, ctx: RunContext, options: StageOptions) -> int:
    return walk(db, int(volume_id), ctx, credentials=options.credentials)


def _exhibit(db: Database, exhibit_id: int) -> Exhibit:
    with db.session() as session:
        return session.get(Exhibit, exhibit_id)
