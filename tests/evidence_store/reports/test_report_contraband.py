"""Contraband-safe by construction: no restricted pixels in any report, in any form.

Every image is pulled out of the PDF (pdfimages) and the HTML (data URIs) and compared with the
known-bad PDQ references (all 8 rotations/flips, distance <= 31) and with the bytes of every
restricted item; thumbnails of other images appear only in the disclosure edition, greyscale
and pixelated by the server.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.evidence_store.reports.report_tools import EXAMINER, html_images, pdf_images, pdf_text

RADIUS = 31


def _known_bad_pdq(db) -> list[str]:
    from evidence_store.models import HashSet, HashSetEntry

    with db.session() as session:
        return list(session.scalars(select(HashSetEntry.pdq).join(HashSet, HashSet.id == HashSetEntry.hashset_id)
                                    .where(HashSet.kind == "known-bad", HashSetEntry.pdq.is_not(None))))


def _restricted_sha256(db) -> set[str]:
    from evidence_store.models import CarvedObjectRow, FileEntry

    with db.session() as session:
        return set(session.scalars(select(FileEntry.sha256).where(FileEntry.restricted.is_(True)))) | \
            set(session.scalars(select(CarvedObjectRow.sha256).where(CarvedObjectRow.restricted.is_(True))))


def _assert_safe(images: list[bytes], references: list[str], restricted: set[str]) -> None:
    import numpy
    import pdqhash
    from PIL import Image

    from forensics.matchers.pdq import hamming

    assert references and restricted, "the demo case must hold restricted material for this test to mean anything"
    for data in images:
        assert hashlib.sha256(data).hexdigest() not in restricted
        with Image.open(io.BytesIO(data)) as image:
            assert image.mode in ("L", "LA", "P") or _is_grey(image), "thumbnails are greyscale"
            pixels = numpy.ascontiguousarray(numpy.asarray(image.convert("RGB"), dtype=numpy.uint8))
        vectors, _ = pdqhash.compute_dihedral(pixels)
        for vector in vectors:
            value = numpy.packbits(numpy.asarray(vector, dtype=numpy.uint8)).tobytes().hex()
            assert min(hamming(value, ref) for ref in references) > RADIUS


def _is_grey(image) -> bool:
    rgb = image.convert("RGB")
    return all(r == g == b for r, g, b in rgb.getdata())


@pytest.fixture(scope="module")
def disclosure(demo_case):
    from evidence_store.reports.workflow import create

    db, _, _ = demo_case
    pdf = create(db, "DEMO-001", examiner=EXAMINER, edition="disclosure", fmt="pdf")
    html = create(db, "DEMO-001", examiner=EXAMINER, edition="disclosure", fmt="html")
    return db, Path(pdf.path), Path(html.path)


def test_disclosure_pdf_shows_no_restricted_pixels(disclosure, tmp_path):
    db, pdf, _ = disclosure
    images = pdf_images(pdf, tmp_path / "images")
    assert len(images) >= 2            # the photo on both file systems and the carved JPEG, as thumbnails
    _assert_safe(images, _known_bad_pdq(db), _restricted_sha256(db))
    text = pdf_text(pdf)
    assert "/downloads/cache/img_0193.jpg" in text and "Category A (demo stand-in)" in text


def test_disclosure_html_shows_no_restricted_pixels(disclosure):
    db, _, html = disclosure
    images = html_images(html)
    assert len(images) >= 2
    _assert_safe(images, _known_bad_pdq(db), _restricted_sha256(db))
    page = html.read_text()
    assert page.count("data:image/") == len(images)                     # no other way in for pixels
    assert "/downloads/cache/img_0193.jpg" in page and "http://" not in page and "https://" not in page


def test_prosecution_edition_has_no_pictures_at_all(demo_case, tmp_path):
    from evidence_store.reports.workflow import create

    db, result, _ = demo_case
    assert pdf_images(Path(result.report_path), tmp_path / "issued") == []
    html = create(db, "DEMO-001", examiner=EXAMINER, fmt="html")
    assert html_images(Path(html.path)) == []


def test_a_missed_restriction_is_still_withheld_by_the_pdq_check(demo_case, tmp_path):
    """If an image near a known-bad reference were not flagged restricted (say a list was imported
    after matching), its thumbnail is still withheld: the release check recomputes PDQ on the
    thumbnail and its source."""
    from evidence_store.models import FileEntry, Report
    from evidence_store.reports.workflow import create

    db, _, _ = demo_case
    with db.session() as session:
        session.execute(update(FileEntry).where(FileEntry.restricted.is_(True)).values(restricted=False))
    try:
        report = create(db, "DEMO-001", examiner=EXAMINER, edition="disclosure", fmt="html")
    finally:
        with db.session() as session:
            session.execute(update(FileEntry).where(FileEntry.path == "/downloads/cache/img_0193.jpg")
                            .values(restricted=True))
    page = Path(report.path).read_text()
    _assert_safe(html_images(Path(report.path)), _known_bad_pdq(db), {
        hashlib.sha256(b).hexdigest() for b in _restricted_files(db)})
    assert "thumbnail(s) were withheld" in page
    with db.session() as session:
        assert session.scalar(select(Report).where(Report.report_id == report.report_id)).state.value == "draft"


def _restricted_files(db) -> list[bytes]:
    from evidence_store.models import FileEntry
    from forensics.reader import StreamReader

    with db.session() as session:
        rows = session.scalars(select(FileEntry).where(FileEntry.path == "/downloads/cache/img_0193.jpg")).all()
    return [b"".join(StreamReader().chunks(row.locator)) for row in rows]
