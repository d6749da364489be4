"""Carving stages: plan the ranges, carve batches of them, record objects with provenance.

Shared by ``forensics carve`` / ``forensics process`` and the DAG. Objects are stored
content-addressed (by SHA-256) in the case's artifact store; one whose content equals
a file the walk already found points at it (``duplicate_of``) instead of counting twice.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select, text

from evidence_store.db import Database, data_dir
from evidence_store.models import CarvedObjectRow, CarveRangeRow, Exhibit, FileEntry, Volume
from evidence_store.runs import RunContext, stage_run
from evidence_store.store import record_warning, upsert
from forensics.locator import locator_key

RANGE_BYTES = 64 * 1024 * 1024       # ranges are split to this size so batches balance
BATCH_BYTES = 256 * 1024 * 1024      # bytes of ranges per carve batch at least (one mapped Airflow task each)
MAX_BATCHES = 256
Credentials = Sequence[tuple[str, str]]


def artifact_root(db: Database, case_name: str) -> Path:
    """The case's artifact store: $FORENSICS_ARTIFACT_DIR, else ``artifacts/`` in the data directory."""
    base = os.environ.get("FORENSICS_ARTIFACT_DIR") or str(data_dir(db.url) / "artifacts")
    return Path(base) / re.sub(r"[^A-Za-z0-9._-]", "_", case_name)


def plan_carving(db: Database, exhibit_id: int, ctx: RunContext, *, slack: bool = False,
                 credentials: Credentials = (), range_bytes: int = RANGE_BYTES,
                 batch_bytes: int = BATCH_BYTES, max_batches: int = MAX_BATCHES) -> list[list[int]]:
    """Records the ranges to carve and returns batches of their ids: consecutive ranges adding up to
    ``batch_bytes`` at least (the last may hold less), at most ``max_batches``. A task costs seconds
    to start under Airflow, so a batch per small range (an unallocated run of a few KiB) cost far
    more than carving it."""
    from forensics.carving import CarveWarning, carve_ranges, split_range
    from forensics.image import apply_credentials
    from forensics.models import VolumeRecord

    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        media, case_id = exhibit.media_locator, exhibit.case_id
        volumes = [VolumeRecord(locator=v.locator, volume_path=v.volume_path, kind=v.kind,
                                volume_system=v.volume_system, offset=v.offset, size=v.size, fs_type=v.fs_type,
                                note=v.note)
                   for v in session.scalars(select(Volume).where(Volume.exhibit_id == exhibit_id).order_by(Volume.id))]
    with stage_run(db, ctx, "carve", case_id=case_id, exhibit_id=exhibit_id, key_parts=("plan",),
                   parameters={"plan": True, "slack": slack, "range_bytes": range_bytes,
                               "batch_bytes": batch_bytes}) as run:
        for volume in volumes:
            apply_credentials(volume.locator, credentials)
        rows, warnings = [], []
        for item in carve_ranges(media, volumes, slack=slack):
            if isinstance(item, CarveWarning):
                warnings.append(item)
                continue
            for part in split_range(item, range_bytes):
                rows.append(dict(exhibit_id=exhibit_id, locator=part.locator, locator_key=locator_key(part.locator),
                                 offset=part.offset, length=part.length, read_limit=part.read_limit,
                                 image_offset=part.image_offset, source=part.source,
                                 volume_path=part.volume_path, fs_locator=part.fs_locator))
        with db.session() as session:
            for start in range(0, len(rows), 2000):
                upsert(session, CarveRangeRow, rows[start:start + 2000],
                       keys=["exhibit_id", "locator_key", "offset", "length"])
            for warning in warnings:
                record_warning(session, exhibit_id, "carve", f"{warning.kind or 'carving'}: {warning.message}",
                               run_id=run.id)
        return _batches(db, exhibit_id, batch_bytes, max_batches)


def _batches(db: Database, exhibit_id: int, batch_bytes: int, max_batches: int) -> list[list[int]]:
    """[first id, last id] of consecutive ranges holding ``batch_bytes`` each at least (more when
    ``max_batches`` would be exceeded)."""
    with db.session() as session:
        ranges = session.execute(select(CarveRangeRow.id, CarveRangeRow.length).where(
            CarveRangeRow.exhibit_id == exhibit_id).order_by(CarveRangeRow.id)).all()
    if not ranges:
        return []
    total = sum(length for _, length in ranges)
    per_batch = max(batch_bytes, -(-total // max_batches), 1)
    batches: list[list[int]] = []
    held = 0
    for range_id, length in ranges:
        if not batches or held >= per_batch:
            batches.append([range_id, range_id])
            held = 0
        batches[-1][1] = range_id
        held += length
    return batches


def carve_batch(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
                credentials: Credentials = ()) -> int:
    """Carves every range with lo <= id <= hi not yet carved; returns objects recorded."""
    from forensics.carving import CarveWarning, DirectorySink, carve_range, carver_versions, open_reader
    from forensics.carving.models import CarveRange
    from forensics.reader import close_reader
    from forensics.image import apply_credentials

    lo, hi = int(id_range[0]), int(id_range[1])
    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        case_id, sink = exhibit.case_id, DirectorySink(artifact_root(db, exhibit.case.name))
        ranges = session.scalars(select(CarveRangeRow).where(
            CarveRangeRow.exhibit_id == exhibit_id, CarveRangeRow.id.between(lo, hi),
            CarveRangeRow.status != "carved").order_by(CarveRangeRow.id)).all()
    found = 0
    with stage_run(db, ctx, "carve", case_id=case_id, exhibit_id=exhibit_id, key_parts=(lo, hi),
                   parameters={"first_range": lo, "last_range": hi, "carvers": carver_versions()}) as run:
        from forensics.filetype import TypeIdentifier

        types = TypeIdentifier()
        readers: dict[str, object] = {}
        try:
            for row in ranges:
                apply_credentials(row.locator, credentials)
                reader = readers.get(row.locator) or readers.setdefault(row.locator, open_reader(row.locator))
                target = CarveRange(locator=row.locator, offset=row.offset, length=row.length, source=row.source,
                                    volume_path=row.volume_path, image_offset=row.image_offset,
                                    fs_locator=row.fs_locator, read_limit=row.read_limit)
                results = list(carve_range(reader, target, sink))
                objects = [r for r in results if not isinstance(r, CarveWarning)]
                with db.session() as session:
                    _write_objects(session, exhibit_id, row.id, objects, types)
                    for warning in (r for r in results if isinstance(r, CarveWarning)):
                        record_warning(session, exhibit_id, "carve", f"{warning.kind or 'carving'} at media offset "
                                       f"{warning.image_offset}: {warning.message}", run_id=run.id)
                    stored = session.get(CarveRangeRow, row.id)
                    stored.status, stored.objects = "carved", len(objects)
                found += len(objects)
        finally:
            for reader in readers.values():
                close_reader(reader)
    return found


def _read_head(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(256 * 1024)


def _write_objects(session, exhibit_id: int, range_id: int, objects, types) -> None:
    if not objects:
        return
    walked = dict(session.execute(select(FileEntry.sha256, func.min(FileEntry.id)).where(
        FileEntry.exhibit_id == exhibit_id, FileEntry.sha256.in_({o.sha256 for o in objects}))
        .group_by(FileEntry.sha256)).all())
    rows = []
    for obj in objects:
        mime, description = types.identify_digest(obj.sha256, lambda: _read_head(obj.stored_as))
        rows.append(dict(
            exhibit_id=exhibit_id, range_id=range_id, locator=obj.locator, locator_key=locator_key(obj.locator),
            offset=obj.offset, size=obj.size, image_ranges=[list(r) for r in obj.image_ranges],
            format=obj.format, extension=obj.extension, carver=obj.carver, carver_version=obj.carver_version,
            status=obj.status, note=obj.note, source=obj.source, volume_path=obj.volume_path,
            embedded_in=obj.embedded_in, md5=obj.md5, sha1=obj.sha1, sha256=obj.sha256,
            artifact_path=obj.stored_as, mime_type=mime, description=description,
            duplicate_of=walked.get(obj.sha256)))
    upsert(session, CarvedObjectRow, rows, keys=["exhibit_id", "locator_key", "offset", "format"],
           update=["size", "image_ranges", "status", "note", "sha256", "md5", "sha1", "artifact_path",
                   "mime_type", "description", "duplicate_of", "carver_version", "range_id"])


def link_duplicates(session, exhibit_id: int) -> None:
    """Points carved objects at walked files with the same content (walk may finish after carving)."""
    session.execute(text(
        "UPDATE carved_objects SET duplicate_of = (SELECT min(f.id) FROM file_entries f WHERE "
        "f.exhibit_id = carved_objects.exhibit_id AND f.sha256 = carved_objects.sha256) "
        "WHERE exhibit_id = :e"), {"e": exhibit_id})


def carving_summary(session, exhibit_id: int) -> dict[str, int]:
    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(CarvedObjectRow).where(
            CarvedObjectRow.exhibit_id == exhibit_id, *where)) or 0
    return {"carved": count(), "carved_new": count(CarvedObjectRow.duplicate_of.is_(None),
                                                   CarvedObjectRow.embedded_in.is_(None)),
            "carved_partial": count(CarvedObjectRow.status == "partial")}
