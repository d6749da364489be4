"""The expansion stage: every container the content pass typed is opened (forensics.containers) and
each file inside it, at every depth, is recorded as a derived file entry: its parent entry, its depth,
the extractor that listed it, a locator any stage reopens, and a path naming the whole chain
(``/docs/a.zip!/inner.tar.gz!/inner.tar!/photo.jpg``). The ``derived`` stage then gives those entries
the same content pass as walked files (digests, type, hash sets, YARA, PDQ, TLSH).

Refusals (limits, hostile names, encryption, damage) are warnings naming the container; the rest of
the exhibit goes on. Members whose bytes dfvfs cannot name are copied into the case's artifact store
under ``derived/``, content-addressed.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select, update

from evidence_store.carving import artifact_root
from evidence_store.db import Database
from evidence_store.models import Exhibit, FileEntry
from evidence_store.runs import RunContext, stage_run
from evidence_store.stages.options import StageOptions
from evidence_store.store import id_ranges, record_warning, upsert
from forensics.locator import locator_key

MAX_BATCHES = 64
MIN_BATCH = 50


def _is_container():
    from forensics.containers.registry import container_types_sql

    exact, prefixes = container_types_sql()
    return or_(FileEntry.mime_type.in_(exact), *(FileEntry.mime_type.like(p + "%") for p in prefixes))


def _top_level(exhibit_id: int):
    return (FileEntry.exhibit_id == exhibit_id, FileEntry.parent_id.is_(None), FileEntry.hash_status == "hashed",
            _is_container())


def plan(db: Database, exhibit_id: int, ctx: RunContext | None = None, options: StageOptions | None = None) -> list:
    """Id ranges of the walked entries whose content is a container (derived containers are opened by
    the expansion of their top-level container)."""
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(FileEntry).where(*_top_level(exhibit_id))) or 0
        if total == 0:
            return []
        buckets = max(1, min(MAX_BATCHES, -(-total // MIN_BATCH)))
        return id_ranges(session, FileEntry.id, *_top_level(exhibit_id), buckets=buckets)


def limits(options: StageOptions):
    from forensics.containers import Limits

    return Limits(max_depth=options.expand_depth, max_total_bytes=options.expand_max_bytes,
                  max_member_bytes=min(options.expand_max_bytes, Limits.max_member_bytes),
                  max_ratio=options.expand_max_ratio, max_seconds=options.expand_seconds)


def run_batch(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
              options: StageOptions) -> int:
    """Expands each container entry with first <= id <= last that has no derived entries yet."""
    from forensics.carving.sink import DirectorySink
    from forensics.containers.context import Context
    from forensics.reader import StreamReader

    lo, hi = int(id_range[0]), int(id_range[1])
    bounds = limits(options)
    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        case_id, case_name = exhibit.case_id, exhibit.case.name
        opened = select(FileEntry.parent_id).where(FileEntry.exhibit_id == exhibit_id,
                                                   FileEntry.parent_id.between(lo, hi))
        todo = session.execute(select(FileEntry.id, FileEntry.locator, FileEntry.locator_key, FileEntry.path,
                                      FileEntry.mime_type, FileEntry.volume_id, FileEntry.allocated)
                               .where(*_top_level(exhibit_id), FileEntry.id.between(lo, hi),
                                      FileEntry.id.not_in(opened)).order_by(FileEntry.id)).all()
    sink = DirectorySink(artifact_root(db, case_name) / "derived")
    passwords = tuple(value for kind, value in options.credentials if kind == "password")
    recorded = 0
    with stage_run(db, ctx, "expand", case_id=case_id, exhibit_id=exhibit_id, key_parts=(lo, hi),
                   parameters={"first_id": lo, "last_id": hi, "limits": bounds.__dict__,
                               "passwords": len(passwords)}) as run:
        reader = StreamReader(options.credentials)
        for container in todo:
            recorded += _expand_one(db, exhibit_id, run.id, container, Context(bounds, sink, passwords), reader)
    return recorded


def _expand_one(db: Database, exhibit_id: int, run_id: int, container, ctx, reader) -> int:
    from forensics.containers import ContainerWarning
    from forensics.containers.expand import expand

    from evidence_store.stages.content import _test_fault

    _test_fault(container.path, "expand")
    rows, warnings, parents = [], [], {}
    for found in expand(container.locator, container.path, container.mime_type, ctx, reader):
        if isinstance(found, ContainerWarning):
            warnings.append(found)
            continue
        key = locator_key(f"{container.locator_key}|{'/'.join(found.key)}")
        parents[key] = locator_key(f"{container.locator_key}|{'/'.join(found.key[:-1])}") if found.depth > 1 else None
        has_content = found.locator is not None
        rows.append(dict(exhibit_id=exhibit_id, volume_id=container.volume_id, locator_key=key,
                         locator=found.locator or container.locator, path=found.path, name=found.name, inode=None,
                         allocated=container.allocated, name_type="r", meta_type="r", size=found.size,
                         mtime=found.mtime, data_stream="", has_content=has_content,
                         hash_status="pending" if has_content else "encrypted" if found.encrypted else "none",
                         depth=found.depth, extractor=found.extractor))
        if found.encrypted:
            warnings.append(ContainerWarning(found.path, f"encrypted member: {found.note}"))
    with db.session() as session:
        for start in range(0, len(rows), 500):
            upsert(session, FileEntry, rows[start:start + 500], keys=["volume_id", "locator_key"],
                   update=["locator", "path", "size", "has_content", "depth", "extractor"])
        ids: dict[str, int] = {}
        keys = [r["locator_key"] for r in rows]
        for start in range(0, len(keys), 500):
            ids.update(session.execute(select(FileEntry.locator_key, FileEntry.id).where(
                FileEntry.volume_id == container.volume_id, FileEntry.locator_key.in_(keys[start:start + 500]))).all())
        if ids:
            session.execute(update(FileEntry), [{"id": ids[k], "parent_id": ids.get(parents[k]) or container.id}
                                                for k in keys if k in ids])
        for warning in warnings:
            record_warning(session, exhibit_id, "expand", f"{warning.path}: {warning.message}", path=warning.path,
                           run_id=run_id, volume_id=container.volume_id, file_entry_id=container.id)
    return len(rows)


def split(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
          options: StageOptions) -> list[list[int]]:
    """A batch whose worker died, one container per item, to find the one that kills it."""
    lo, hi = int(id_range[0]), int(id_range[1])
    with db.session() as session:
        return [[i, i] for i in session.scalars(select(FileEntry.id).where(
            *_top_level(exhibit_id), FileEntry.id.between(lo, hi)).order_by(FileEntry.id))]


def record_lost(db: Database, exhibit_id: int, item: Sequence[int], ctx: RunContext, options: StageOptions,
                reason: str) -> None:
    """The container whose expansion killed its worker: a warning naming it; the others go on."""
    with db.session() as session:
        for entry in session.scalars(select(FileEntry).where(
                *_top_level(exhibit_id), FileEntry.id.between(int(item[0]), int(item[1])))):
            record_warning(session, exhibit_id, "expand", f"{entry.path}: {reason}; not expanded (the other "
                           "containers were)", path=entry.path, file_entry_id=entry.id, volume_id=entry.volume_id,
                           severity="error")
