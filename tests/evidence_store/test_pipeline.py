"""End-to-end stages on the sample disk, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import os

from sqlalchemy import func, select

from evidence_store.stages.content import plan_batches
from evidence_store.intake import add_exhibit, create_case
from evidence_store.models import Exhibit, FileEntry, ProcessingRun, ProcessingWarning, Volume
from evidence_store.pipeline import process_exhibit
from evidence_store.runs import RunContext


def _snapshot(db, model, columns):
    with db.session() as session:
        rows = session.execute(select(*[getattr(model, c) for c in columns])).all()
    return sorted(tuple(r) for r in rows)


FILE_COLUMNS = ("volume_id", "locator", "path", "inode", "allocated", "size", "mtime", "md5", "sha1",
                "sha256", "mime_type", "extension_mismatch", "hash_status")


def _add(db, image, number="EX-1"):
    create_case(db, "CASE-1", "test case", "tester")
    return add_exhibit(db, "CASE-1", number, str(image), "tester")


def test_process_records_every_planted_file(db, sample_image):
    exhibit = _add(db, sample_image.path)
    summary = process_exhibit(db, exhibit.id)
    assert summary["status"] == "complete"
    with db.session() as session:
        volumes = {v.id: v for v in session.scalars(select(Volume))}
        entries = session.scalars(select(FileEntry)).all()
    by_key = {}
    for entry in entries:
        volume = volumes[entry.volume_id]
        by_key[(volume.offset, entry.path)] = entry
    for planted in sample_image.files:
        offset = next(p[1] for p in sample_image.partitions if p[0] == planted.partition)
        entry = by_key[(offset, "/" + planted.path)]
        assert entry.allocated is (not planted.deleted), planted.path
        assert entry.size == planted.size
        assert entry.sha256 == planted.sha256, planted.path
        assert entry.hash_status == "hashed"
    flagged = [e.path for e in entries if e.extension_mismatch]
    assert flagged == ["/notes/holiday.jpg"] * 2       # a PDF named .jpg, on both file systems; nothing else
    assert summary["deleted"] >= 6


def test_media_hashes_equal_hashlib(db, sample_image):
    exhibit = _add(db, sample_image.path)
    data = sample_image.path.read_bytes()
    assert exhibit.sha256 == hashlib.sha256(data).hexdigest()
    assert exhibit.sha1 == hashlib.sha1(data).hexdigest()
    assert exhibit.md5 == hashlib.md5(data).hexdigest()
    assert exhibit.verification == "unverified"


def test_rerunning_every_stage_adds_no_rows(db, sample_image):
    exhibit = _add(db, sample_image.path)
    process_exhibit(db, exhibit.id)
    first = (_snapshot(db, FileEntry, FILE_COLUMNS), _snapshot(db, Volume, ("locator", "walk_status", "entry_count")),
             _snapshot(db, ProcessingWarning, ("stage", "message")))
    # same run context (an Airflow retry) and a new one (a second CLI run)
    ctx = RunContext()
    for _ in range(2):
        with db.session() as session:  # force re-reading the content too
            session.execute(FileEntry.__table__.update().values(hash_status="pending").where(
                FileEntry.has_content.is_(True)))
        process_exhibit(db, exhibit.id, ctx=ctx)
    _add(db, sample_image.path)  # re-adding the same image is a no-op
    second = (_snapshot(db, FileEntry, FILE_COLUMNS), _snapshot(db, Volume, ("locator", "walk_status", "entry_count")),
              _snapshot(db, ProcessingWarning, ("stage", "message")))
    assert first == second
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Exhibit)) == 1
        keys = session.scalars(select(ProcessingRun.run_key)).all()
    assert len(keys) == len(set(keys))


def test_plan_batches_stays_under_max_map_length(db, sample_image):
    exhibit = _add(db, sample_image.path)
    process_exhibit(db, exhibit.id)
    with db.session() as session:
        ids = sorted(session.scalars(select(FileEntry.id).where(FileEntry.has_content.is_(True),
                                                                FileEntry.parent_id.is_(None))))
        derived = sorted(session.scalars(select(FileEntry.id).where(FileEntry.parent_id.is_not(None))))
    assert derived                                          # the sample's zips were opened
    from evidence_store.stages.content import plan_derived
    assert [i for i in derived if any(lo <= i <= hi for lo, hi in plan_derived(db, exhibit.id))] == derived
    batches = plan_batches(db, exhibit.id, max_batches=4, min_batch=3)      # the walked entries
    assert 1 <= len(batches) <= 4
    covered = [i for i in ids if any(lo <= i <= hi for lo, hi in batches)]
    assert covered == ids                                   # every readable entry in exactly one range
    assert all(b[0] <= b[1] for b in batches)
    assert all(batches[i][1] < batches[i + 1][0] for i in range(len(batches) - 1))


def test_evidence_is_never_modified(db, sample_image, tmp_path):
    image = tmp_path / "evidence.raw"
    image.write_bytes(sample_image.path.read_bytes())
    os.utime(image, (1_600_000_000, 1_600_000_000))
    before = (hashlib.sha256(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns)
    image.chmod(0o444)
    exhibit = _add(db, image)
    process_exhibit(db, exhibit.id)
    after = (hashlib.sha256(image.read_bytes()).hexdigest(), image.stat().st_mtime_ns)
    assert before == after


def test_runs_record_versions_and_parameters(db, sample_image):
    exhibit = _add(db, sample_image.path)
    process_exhibit(db, exhibit.id)
    with db.session() as session:
        runs = session.scalars(select(ProcessingRun).order_by(ProcessingRun.id)).all()
    assert [r.stage for r in runs][:3] == ["intake", "scan", "walk"]
    assert {r.outcome for r in runs} == {"success"}
    for run in runs:
        assert run.ended_at is not None and run.ended_at >= run.started_at
        assert {"dfvfs", "pytsk3", "forensics", "python"} <= set(run.library_versions)


def test_worker_processes_give_the_same_rows(db, sample_image):
    """Large exhibits run walk/hash/carve/match batches in worker processes: same rows as inline."""
    from evidence_store.models import CarvedObjectRow

    create_case(db, "CASE-W")
    inline = add_exhibit(db, "CASE-W", "INLINE", str(sample_image.path), "tester")
    pooled = add_exhibit(db, "CASE-W", "POOLED", str(sample_image.path), "tester")
    process_exhibit(db, inline.id, workers=1)
    process_exhibit(db, pooled.id, workers=2)

    def rows(model, exhibit_id, *columns):
        with db.session() as session:
            return sorted(tuple(r) for r in session.execute(
                select(*[getattr(model, c) for c in columns]).where(model.exhibit_id == exhibit_id)))

    columns = ("path", "inode", "allocated", "size", "md5", "sha256", "mime_type", "hash_status", "tlsh")
    assert rows(FileEntry, inline.id, *columns) == rows(FileEntry, pooled.id, *columns)
    assert rows(CarvedObjectRow, inline.id, "offset", "sha256", "format") == \
        rows(CarvedObjectRow, pooled.id, "offset", "sha256", "format")
