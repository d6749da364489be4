"""Crash isolation: a native parser crashing (SIGSEGV), hanging or eating memory on one item costs
that item, not the exhibit. The faults are injected in the worker processes with
FORENSICS_TEST_FAULT (evidence_store/stages/content.py)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from evidence_store.intake import add_exhibit, create_case
from evidence_store.models import FileEntry, ProcessingRun, ProcessingWarning
from evidence_store.pipeline import process_exhibit
from evidence_store.stages.options import StageOptions


def _process(db, image, number, monkeypatch, fault, **limits):
    monkeypatch.setenv("FORENSICS_TEST_FAULT", fault)
    create_case(db, "CASE-X") if number == "EX-1" else None
    exhibit = add_exhibit(db, "CASE-X", number, str(image), "tester")
    summary = process_exhibit(db, exhibit.id, options=StageOptions(carve=False, match=False, **limits), isolate=True,
                              workers=2)
    with db.session() as session:
        rows = {e.path: e for e in session.scalars(select(FileEntry).where(FileEntry.exhibit_id == exhibit.id))}
        warnings = [w.message for w in session.scalars(select(ProcessingWarning).where(
            ProcessingWarning.exhibit_id == exhibit.id))]
        params = [r.parameters for r in session.scalars(select(ProcessingRun).where(
            ProcessingRun.exhibit_id == exhibit.id, ProcessingRun.stage == "content"))]
    return summary, rows, warnings, params


@pytest.mark.parametrize("fault,limits,says", [
    ("crash", {}, "the worker process reading it died"),
    ("stall", {"item_seconds": 2}, "took longer than 2 s (item time limit)"),
    ("hog", {"worker_memory": 3 << 30}, "needed more memory than the worker's limit"),
], ids=["sigsegv", "hang", "memory"])
def test_one_bad_item_costs_one_item(sqlite_db, sample_image, monkeypatch, fault, limits, says):
    summary, rows, warnings, params = _process(sqlite_db, sample_image.path, "EX-1", monkeypatch,
                                               f"{fault}:/docs/report.pdf", **limits)
    assert summary["status"] == "complete"
    bad = [e for path, e in rows.items() if path == "/docs/report.pdf"]
    assert bad and all(e.hash_status == "unreadable" for e in bad)
    hashed = [e for e in rows.values() if e.has_content and e.path != "/docs/report.pdf"]
    assert hashed and all(e.hash_status == "hashed" and e.sha256 for e in hashed)     # every other item was done
    assert any("/docs/report.pdf" in w and says in w for w in warnings), warnings
    if limits:                                                   # the limits are part of the run's record
        key, value = next(iter(limits.items()))
        assert params and all(p.get(key) == value for p in params)


def test_a_container_that_kills_its_worker_costs_that_container(sqlite_db, sample_image, monkeypatch):
    """The expansion runs in the same restartable workers: a library dying on one archive leaves that
    archive closed with an error naming it; the sample's other archive is opened."""
    summary, rows, warnings, _ = _process(sqlite_db, sample_image.path, "EX-1", monkeypatch,
                                          "crash@expand:/archive/backup.zip")
    assert summary["status"] == "complete"
    assert rows["/archive/backup.zip"].hash_status == "hashed"             # the content pass read it
    assert not any(path.startswith("/archive/backup.zip!/") for path in rows)
    assert any(path.startswith("/archive/old_backup_2019.zip!/") for path in rows)
    assert any("/archive/backup.zip" in w and "not expanded" in w for w in warnings), warnings
