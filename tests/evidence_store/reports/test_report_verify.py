"""``forensics report verify``: the issued file against the ledger and the database, naming what differs."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.evidence_store.reports.report_tools import EXAMINER, REVIEWER


def _verify(db, path: Path):
    from evidence_store.reports.verify import verify_file

    return verify_file(db, path)


def _check(result, name: str):
    return next(c for c in result.checks if c.name == name)


def test_issued_pdf_verifies(demo_case):
    db, result, _ = demo_case
    checked = _verify(db, Path(result.report_path))
    assert checked.ok and checked.state == "issued" and checked.report_id == result.report_id
    assert [c.name for c in checked.checks] == ["hash recorded", "embedded data", "signed ledger head", "findings"]
    assert all(c.ok for c in checked.checks)
    assert "report-issue" in _check(checked, "hash recorded").detail


def test_a_flipped_byte_fails_and_names_the_report(demo_case, tmp_path):
    db, result, _ = demo_case
    data = bytearray(Path(result.report_path).read_bytes())
    data[len(data) // 2] ^= 0x01                 # one bit, in the middle of the file
    data[data.rindex(b"%%EOF") + 4] ^= 0x01      # and one in the end marker (the PDF still parses)
    altered = tmp_path / "altered.pdf"
    altered.write_bytes(bytes(data))
    checked = _verify(db, altered)
    assert not checked.ok
    failed = _check(checked, "hash recorded")
    assert failed.ok is False and "not recorded in any custody ledger" in failed.detail
    assert f"report {result.report_id} is recorded with SHA-256 {result.report_sha256}" in failed.detail


def test_a_finding_deleted_from_the_database_fails_naming_it(demo_case):
    from evidence_store.models import Finding

    db, result, _ = demo_case
    table = Finding.__table__
    from evidence_store.demo import CASE, EXHIBIT
    from evidence_store.intake import lookup_exhibit

    _, exhibit_id = lookup_exhibit(db, CASE, EXHIBIT)          # the demo has a second case; this report is DEMO-001's
    with db.session() as session:
        row = session.execute(select(table).where(table.c.exhibit_id == exhibit_id).order_by(table.c.id.desc())
                              .limit(1)).mappings().one()
        session.execute(table.delete().where(table.c.id == row["id"]))
    try:
        checked = _verify(db, Path(result.report_path))
        assert not checked.ok
        findings = _check(checked, "findings")
        assert findings.ok is False and f"no longer in the database (finding id(s) {row['id']})" in findings.detail
        assert _check(checked, "hash recorded").ok and _check(checked, "signed ledger head").ok
    finally:
        with db.session() as session:                 # put it back for the module's other tests
            session.execute(table.insert().values(**row))
    assert _verify(db, Path(result.report_path)).ok


def test_html_edition_verifies_and_a_draft_says_it_is_not_issued(demo_case, tmp_path):
    from evidence_store.reports.workflow import authorise, create, issue

    db, _, _ = demo_case
    draft = create(db, "DEMO-001", examiner=EXAMINER, fmt="html")
    checked = _verify(db, Path(draft.path))
    assert checked.ok and checked.state == "draft"
    assert _check(checked, "signed ledger head").ok is None and "not an issued report" in \
        _check(checked, "signed ledger head").detail
    issued = issue(db, authorise(db, draft.report_id, reviewer=REVIEWER).report_id)
    assert _verify(db, Path(issued.path)).ok
    page = Path(issued.path).read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.html"
    tampered.write_text(page.replace("Digital forensic examination report", "Digital forensic examination rep0rt"),
                        encoding="utf-8")
    assert not _verify(db, tampered).ok


def test_cli_exit_codes(demo_case, tmp_path):
    from evidence_store.cli import main

    db, result, _ = demo_case
    runner = CliRunner()
    ok = runner.invoke(main, ["--db", db.url, "report", "verify", result.report_path])
    assert ok.exit_code == 0, ok.output
    assert f"report {result.report_id} (issued): VERIFIED" in ok.output
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\nnot a report\n")
    bad = runner.invoke(main, ["--db", db.url, "report", "verify", str(junk), "--json"])
    assert bad.exit_code == 1
    verdict = json.loads(bad.output)
    assert verdict["ok"] is False and {c["name"] for c in verdict["checks"]} >= {"hash recorded", "embedded data"}
    listed = runner.invoke(main, ["--db", db.url, "report", "list", "--case", "DEMO-001", "--json"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows[0]["id"] == result.report_id and rows[0]["state"] == "issued"
    assert rows[0]["sha256"] == result.report_sha256 and rows[0]["file"] == result.report_path
