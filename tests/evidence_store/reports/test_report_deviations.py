"""Deviations and exclusions are derived from the pipeline's own counters and warnings, never typed."""
from __future__ import annotations

from sqlalchemy import select, update

from tests.evidence_store.reports.report_tools import configure_lab, import_demo_knowledge, processed_case


def _deviations(db, exhibit_id: int) -> dict[str, tuple[int, str]]:
    from evidence_store.models import Case, Exhibit
    from evidence_store.reports.assemble import assemble

    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        content = assemble(session, session.get(Case, exhibit.case_id), [exhibit], report_id="T", edition="prosecution",
                           findings=0, findings_sha256="0" * 64)
        return {d.kind: (d.count, d.statement) for d in content.deviations}


def test_clean_run_states_only_what_applies(sqlite_db, demo_image, tmp_path):
    import_demo_knowledge(sqlite_db, tmp_path / "k")
    exhibit_id = processed_case(sqlite_db, demo_image)
    configure_lab(sqlite_db)
    found = _deviations(sqlite_db, exhibit_id)
    # the demo disk: no acquisition hash given, small PNGs too flat for PDQ, slack not carved
    assert set(found) == {"media hash", "low-quality PDQ", "slack"}
    assert found["low-quality PDQ"][0] >= 2


def test_each_problem_becomes_a_statement_with_its_count(sqlite_db, demo_image, tmp_path):
    from evidence_store.models import CarvedObjectRow, Exhibit, FileEntry, Finding, ProcessingWarning, Volume

    import_demo_knowledge(sqlite_db, tmp_path / "k")
    exhibit_id = processed_case(sqlite_db, demo_image)
    configure_lab(sqlite_db)
    with sqlite_db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        exhibit.verification, exhibit.override_reason = "override", "acquisition log lost; re-imaged"
        exhibit.results_trusted = False
        session.add(Volume(exhibit_id=exhibit_id, locator="{}", locator_key="enc", volume_path="/p3", kind="encrypted",
                           walk_status="skipped", note="BitLocker, locked"))
        walked = session.scalars(select(Volume).where(Volume.exhibit_id == exhibit_id, Volume.kind == "filesystem")
                                 ).first()
        session.add(ProcessingWarning(exhibit_id=exhibit_id, volume_id=walked.id, stage="walk", severity="warning",
                                      message="/p2: cannot open with TSK; walking with dfvfs (EXT): deleted entries are "
                                              "not listed for this file system", warning_key="w1"))
        walked.walk_status = "partial"
        files = session.scalars(select(FileEntry).where(FileEntry.exhibit_id == exhibit_id,
                                                        FileEntry.hash_status == "hashed").limit(3)).all()
        files[0].hash_status = "unreadable"
        for entry in files[1:]:
            session.add(Finding(exhibit_id=exhibit_id, file_entry_id=entry.id, matcher="yara", matcher_version="1",
                                engine_versions={}, set_name="R", set_version="1", set_sha256="0" * 64,
                                outcome="timeout", detail={}, finding_key=f"t{entry.id}"))
        session.execute(update(CarvedObjectRow).where(CarvedObjectRow.exhibit_id == exhibit_id).values(status="partial"))
        carved = session.scalar(select(CarvedObjectRow.id).where(CarvedObjectRow.exhibit_id == exhibit_id).limit(1))
    found = _deviations(sqlite_db, exhibit_id)
    assert found["media hash"][1].endswith("acquisition log lost; re-imaged")
    assert "marked untrusted" in found["integrity"][1]
    assert found["encrypted volumes"] == (1, "1 encrypted volume(s) were not examined (no key was supplied): /p3.")
    assert found["deleted entries"][0] == 1 and "lists allocated entries only" in found["deleted entries"][1]
    assert found["walk incomplete"][0] == 1 and "(partial)" in found["walk incomplete"][1]
    assert found["unreadable files"][0] == 1
    assert found["YARA timeout"] == (2, "YARA scanning timed out on 2 item(s); rules may not have been applied to all "
                                        "of their content.")
    assert carved is not None and found["partial carves"][0] >= 1
