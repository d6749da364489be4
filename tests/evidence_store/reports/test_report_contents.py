"""What an issued report states, checked as a person reads it: pdftotext on every page, pdftoppm renders it.

The demo case (forensics demo) has a YARA hit on a deleted note and a photo, a known-bad hash hit,
a restricted PDQ near-match and a carved JPEG; its issued report must say all of it, with the
ISO/IEC 17025 7.8.2.1 items, and be PDF/A-3b with the machine-readable findings attached.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pikepdf
from sqlalchemy import select

from tests.evidence_store.reports.report_tools import pdf_pages, pdf_text, require


def test_every_page_names_the_report_and_its_page_and_the_end_is_marked(demo_case):
    _, result, _ = demo_case
    pages = pdf_pages(Path(result.report_path))
    assert len(pages) >= 5
    for number, text in enumerate(pages, 1):
        assert f"Report {result.report_id} · ISSUED" in text, f"page {number} has no report id"
        assert f"Page {number} of {len(pages)}" in text, f"page {number} has no 'page X of Y'"
        assert ("End of report " + result.report_id in text) == (number == len(pages))


def test_the_report_states_what_iso_17025_asks_for(demo_case):
    from evidence_store.models import Exhibit, HashSet, RuleSet
    from forensics.carving import carver_versions
    from forensics.versions import library_versions

    db, result, _ = demo_case
    text = pdf_text(Path(result.report_path))
    with db.session() as session:
        exhibit = session.scalar(select(Exhibit))
        rules = session.scalar(select(RuleSet))
        sets = session.scalars(select(HashSet)).all()
        expected = [
            "Digital forensic examination report", "Demo Digital Forensics Laboratory",
            "1 Example Street, Exampleton EX1 2MP", "demo only (no accreditation)",
            "DC 1234 Demo, Op. SAMPLE", "REQ-2026-0001", "Search warrant 77/26 (demo)",
            "Sample disk image (64 MiB, MBR, FAT32 + ext4)", "S-DEMO-0001", "sealed bag, seal intact, no damage",
            exhibit.md5, exhibit.sha1, exhibit.sha256, "unverified", "matches intake",
            "A. Examiner (demo)", "R. Reviewer (demo)", "Reviewed and authorised for release",
            f"{rules.name} {rules.version}", rules.sha256, f"{rules.rule_count} rules",
            "PDQ match radius (Hamming distance) 31", "PDQ quality floor 50",
            "results relate only to the items examined", "Carved objects are reconstructed",
            "Perceptual (PDQ) and similarity (TLSH) matches are leads",
            "No acquisition hash was available",                      # a deviation derived from the data
            "I, the examiner named below, declare",
        ]
        expected += [f"{s.name} {s.version}" for s in sets] + [s.sha256 for s in sets]
        expected += [f"{s.entries:,} entries" for s in sets]
    for name in ("dfvfs", "pytsk3", "libmagic", "tsk"):
        expected.append(f"{name} {library_versions()[name]}")
    expected += [f"carver {name} version {version}" for name, version in carver_versions().items()]
    for stage in ("intake", "scan", "walk", "content", "carve", "match-carved", "finalize"):
        assert re.search(rf"\b{re.escape(stage)} \d+ success", text), f"stage {stage} not listed"
    compact = re.sub(r"\s+", "", text)            # a hash wrapped over two lines of a cell reads whole
    missing = [item for item in expected if item not in text and not (_hex(item) and item in compact)]
    assert missing == []


def _hex(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{32,}", value))


def test_every_finding_is_listed_with_its_full_location(demo_case):
    from evidence_store.listings.findings import finding_rows
    from evidence_store.models import Case

    db, result, _ = demo_case
    text = pdf_text(Path(result.report_path))
    compact = re.sub(r"\s+", "", text)
    with db.session() as session:
        case = session.scalar(select(Case))
        rows = list(finding_rows(session, case.id))
    assert {r.matcher for r in rows} >= {"yara", "hashset", "pdq"}
    assert any(r.deleted for r in rows) and any(r.restricted for r in rows) and any(r.carved for r in rows)
    for row in rows:
        assert row.location in text or row.location.replace(" ", "") in compact, row.location
        assert row.sha256 in compact
        assert " > /p" in row.location or " > media bytes " in row.location
    assert "[deleted]" in text and "[restricted]" in text and "Category A (demo stand-in)" in text


def test_pdf_a_3b_with_findings_and_ledger_head_attached(demo_case):
    from evidence_store.listings.findings import finding_rows
    from evidence_store.models import Case
    from evidence_store.reports.attachments import canonical_lines

    db, result, _ = demo_case
    with pikepdf.open(result.report_path) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "3" and meta.get("pdfaid:conformance") == "B"
        assert "/OutputIntents" in pdf.Root
        files = {name: spec for name, spec in pdf.attachments.items()}
        assert set(files) == {"report.json", "findings.json", "findings.csv"}
        assert all(str(spec.obj.get("/AFRelationship")) == "/Data" for spec in files.values())
        assert len(pdf.Root.AF) == 3
        report = json.loads(files["report.json"].get_file().read_bytes())
        findings = files["findings.json"].get_file().read_bytes()
        csv_lines = files["findings.csv"].get_file().read_bytes().decode().splitlines()
    with db.session() as session:
        case = session.scalar(select(Case))
        assert findings == b"".join(canonical_lines(finding_rows(session, case.id)))
    assert len(csv_lines) == report["findings"] + 1 == len(json.loads(findings)) + 1
    assert report["report_id"] == result.report_id and report["state"] == "issued"
    assert report["ledger_head"]["signature"] and report["ledger_head"]["chain"] == "DEMO-001"
    require("pdffonts")
    fonts = subprocess.run(["pdffonts", result.report_path], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("yes" == row[-5] for row in rows), fonts      # every font embedded


def test_pages_render_to_images(demo_case, tmp_path):
    from PIL import Image

    require("pdftoppm")
    _, result, _ = demo_case
    subprocess.run(["pdftoppm", "-r", "40", "-png", result.report_path, str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(pdf_pages(Path(result.report_path)))
    for page in pages:
        with Image.open(page) as image:
            extrema = image.convert("L").getextrema()
            assert extrema[0] < 128 < extrema[1], f"{page.name} looks blank"
