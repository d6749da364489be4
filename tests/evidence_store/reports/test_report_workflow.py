"""The report workflow on SQLite and PostgreSQL: draft -> authorised by a second person -> issued;
every step a custody event with the file's SHA-256; an issued report never changes; refusals say why."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence_store.reports.report_tools import (DECLARATION, EXAMINER, REVIEWER, configure_lab,
                                                       import_demo_knowledge, pdf_pages, processed_case, sha256)


@pytest.fixture
def keys(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    return tmp_path / "keys"


def _lab_key(db, keys: Path) -> None:
    from evidence_store.custody.signing import create_key, register_key

    key = create_key(keys)
    with db.session() as session:
        register_key(session, key.public_key(), "test key", ("lab admin", "admin"))


def _events(db, case: str, prefix: str = "report-") -> list:
    from evidence_store.models import CustodyEvent

    with db.session() as session:
        return [(e.action, e.hash_after, json.loads(e.details)) for e in session.scalars(
            select(CustodyEvent).where(CustodyEvent.chain == case, CustodyEvent.action.startswith(prefix))
            .order_by(CustodyEvent.seq))]


def test_missing_lab_settings_and_declaration_are_named(db, demo_image, tmp_path):
    from evidence_store.reports.workflow import create
    from evidence_store.store import StoreError

    processed_case(db, demo_image)
    with pytest.raises(StoreError, match=r"lab is not configured: run 'forensics lab configure"):
        create(db, "CASE-R", examiner=EXAMINER)
    configure_lab(db, declaration=None)
    with pytest.raises(StoreError, match=r"no examiner declaration: give --declaration-file"):
        create(db, "CASE-R", examiner=EXAMINER)
    with pytest.raises(StoreError, match="exhibit 'EX-9' is not registered"):
        create(db, "CASE-R", examiner=EXAMINER, declaration=DECLARATION, exhibits=["EX-9"])
    report = create(db, "CASE-R", examiner=EXAMINER, declaration="My own declaration.")
    assert report.declaration == "My own declaration." and report.state.value == "draft"


def test_draft_authorise_issue(db, demo_image, keys, tmp_path):
    from evidence_store.custody.service import verify
    from evidence_store.reports.workflow import authorise, create, issue, list_reports
    from evidence_store.store import StoreError

    import_demo_knowledge(db, tmp_path / "knowledge")
    processed_case(db, demo_image)
    configure_lab(db)
    copy = tmp_path / "copy.pdf"
    draft = create(db, "CASE-R", examiner=EXAMINER, output=copy)
    assert draft.state.value == "draft" and draft.report_id == "CASE-R-R001"
    assert Path(draft.path).name == "CASE-R-R001.draft.pdf" and sha256(draft.path) == draft.sha256 == sha256(copy)
    assert "DRAFT" in pdf_pages(Path(draft.path))[0]

    for same in (EXAMINER, " a.  examiner ", "A Examiner"):
        with pytest.raises(StoreError, match="reviewer must be a different person from the examiner"):
            authorise(db, draft.report_id, reviewer=same)
    with pytest.raises(StoreError, match="only an authorised report is issued"):
        issue(db, draft.report_id)
    authorised = authorise(db, draft.report_id, reviewer=REVIEWER, note="checked")
    assert authorised.state.value == "authorised" and authorised.sha256 != draft.sha256
    assert sha256(draft.path) == draft.sha256                      # the draft file is kept as it was
    assert f"{REVIEWER}" in pdf_pages(Path(authorised.path))[-1] or REVIEWER in " ".join(pdf_pages(Path(authorised.path)))
    with pytest.raises(StoreError, match="not a draft"):
        authorise(db, draft.report_id, reviewer="Someone Else")

    with pytest.raises(StoreError, match="no lab signing key"):
        issue(db, draft.report_id)
    _lab_key(db, keys)
    issued = issue(db, draft.report_id)
    assert issued.state.value == "issued" and Path(issued.path).name == "CASE-R-R001.pdf"
    assert issued.ledger_head["signature"] and issued.ledger_head["chain"] == "CASE-R"
    with pytest.raises(StoreError):
        issue(db, draft.report_id)
    with pytest.raises(StoreError):
        authorise(db, draft.report_id, reviewer="Someone Else")
    assert sha256(issued.path) == issued.sha256

    events = _events(db, "CASE-R")
    assert [(a, h, d["state"], d["report_id"]) for a, h, d in events] == [
        ("report-draft", draft.sha256, "draft", "CASE-R-R001"),
        ("report-authorise", authorised.sha256, "authorised", "CASE-R-R001"),
        ("report-issue", issued.sha256, "issued", "CASE-R-R001")]
    assert events[2][2]["ledger_head"]["seq"] == issued.ledger_head["seq"]
    reports, _ = verify(db, "CASE-R")
    assert all(r.ok for r in reports) and reports[0].last_checkpoint_seq > issued.ledger_head["seq"]
    listed = list_reports(db, "CASE-R")
    assert [(r.report_id, r.state.value, r.sha256) for r in listed] == [("CASE-R-R001", "issued", issued.sha256)]


def test_amendment_is_a_new_report_naming_the_old(db, demo_image, keys, tmp_path):
    from evidence_store.reports.workflow import authorise, create, issue
    from evidence_store.store import StoreError

    processed_case(db, demo_image)
    configure_lab(db)
    _lab_key(db, keys)
    first = issue(db, authorise(db, create(db, "CASE-R", examiner=EXAMINER).report_id, reviewer=REVIEWER).report_id)
    draft = create(db, "CASE-R", examiner=EXAMINER)
    with pytest.raises(StoreError, match="only an issued report is amended"):
        create(db, "CASE-R", examiner=EXAMINER, amends=draft.report_id)
    second = create(db, "CASE-R", examiner=EXAMINER, amends=first.report_id, fmt="html")
    assert second.amends == first.report_id
    assert f"amends and replaces report {first.report_id}" in Path(second.path).read_text()
    second = issue(db, authorise(db, second.report_id, reviewer=REVIEWER).report_id)
    with db.session() as session:
        from evidence_store.models import Report

        old = session.scalar(select(Report).where(Report.report_id == first.report_id))
        assert old.superseded_by == second.report_id and old.state.value == "issued"
        assert sha256(old.path) == old.sha256 == first.sha256        # the issued file is untouched
    with pytest.raises(StoreError, match="already replaced"):
        create(db, "CASE-R", examiner=EXAMINER, amends=first.report_id)


def test_incomplete_exhibits_are_refused_unless_allowed(db, demo_image, tmp_path):
    from evidence_store.intake import add_exhibit
    from evidence_store.reports.workflow import create
    from evidence_store.store import StoreError

    processed_case(db, demo_image)
    add_exhibit(db, "CASE-R", "EX-2", str(demo_image), EXAMINER)          # registered, never processed
    configure_lab(db)
    with pytest.raises(StoreError, match=r"exhibit EX-2 is registered, not complete.*--allow-incomplete"):
        create(db, "CASE-R", examiner=EXAMINER)
    report = create(db, "CASE-R", examiner=EXAMINER, allow_incomplete=True)
    first_page = pdf_pages(Path(report.path))[0]
    assert "INCOMPLETE" in first_page and "exhibit EX-2 is registered, not complete" in first_page
    only_done = create(db, "CASE-R", examiner=EXAMINER, exhibits=["EX-1"])
    assert only_done.incomplete is None and only_done.exhibits == ["EX-1"]


def test_a_change_in_the_data_after_the_draft_is_refused_at_authorisation(db, demo_image, tmp_path):
    from evidence_store.models import Finding
    from evidence_store.reports.workflow import authorise, create
    from evidence_store.store import StoreError

    import_demo_knowledge(db, tmp_path / "knowledge")
    processed_case(db, demo_image)
    configure_lab(db)
    draft = create(db, "CASE-R", examiner=EXAMINER)
    with db.session() as session:
        session.delete(session.scalars(select(Finding).order_by(Finding.id)).first())
    with pytest.raises(StoreError, match="changed since the draft was made"):
        authorise(db, draft.report_id, reviewer=REVIEWER)
