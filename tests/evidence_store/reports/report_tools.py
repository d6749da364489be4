"""Helpers for report tests: cases processed with the demo's knowledge, and reading PDFs as a person would."""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

EXAMINER, REVIEWER = "A. Examiner", "R. Reviewer"
DECLARATION = "I declare that this report is true to the best of my knowledge and belief."


def require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/install installs them)")


def configure_lab(db, declaration: str | None = DECLARATION) -> None:
    from evidence_store.lab import configure

    configure(db, name="Test Forensic Laboratory", address="2 Evidence Lane, Testville TE5 7AB",
              accreditation="UKAS 0000 (ISO/IEC 17025) - test", declaration=declaration, actor=("lab admin", "admin"))


def import_demo_knowledge(db, directory: Path) -> None:
    from evidence_store.knowledge import add_ruleset, import_hashset
    from forensics.demo_material import YARA_RULES, demo_material, reference_pdq_list

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "rules.yar").write_text(YARA_RULES)
    (directory / "bad.md5").write_text(demo_material().known_bad_md5_list)
    (directory / "bad.pdq").write_text(reference_pdq_list())
    add_ruleset(db, "DEMO-RULES", [str(directory / "rules.yar")], "2026.12")
    import_hashset(db, str(directory / "bad.md5"), "DEMO-KNOWN-BAD", "known-bad", category="malware (demo)",
                   version="2026.12")
    import_hashset(db, str(directory / "bad.pdq"), "DEMO-PDQ", "known-bad", fmt="pdq-list", version="2026.12")


def processed_case(db, image: Path, case: str = "CASE-R", exhibit: str = "EX-1") -> int:
    """A case with one exhibit processed end to end; returns the exhibit id."""
    from evidence_store.intake import add_exhibit, create_case, lookup_exhibit
    from evidence_store.pipeline import process_exhibit

    create_case(db, case, "Report test", EXAMINER, requester="DC 99 Tester", request_reference="REQ-42",
                legal_authority="Warrant 12/34")
    add_exhibit(db, case, exhibit, str(image), EXAMINER, description="Test disk image", seals=("S-100",),
                condition="sealed, undamaged")
    exhibit_id = lookup_exhibit(db, case, exhibit)[1]
    assert process_exhibit(db, exhibit_id)["status"] == "complete"
    return exhibit_id


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def pdf_pages(path: Path) -> list[str]:
    """The text of each page, as pdftotext lays it out."""
    require("pdftotext")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    pages = text.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def pdf_text(path: Path) -> str:
    """All text in reading order (cell by cell), runs of white space folded to one space."""
    require("pdftotext")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode("utf-8")
    return re.sub(r"\s+", " ", text)


def pdf_images(path: Path, directory: Path) -> list[bytes]:
    """Every image embedded in the PDF, as pdfimages extracts them."""
    require("pdfimages")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdfimages", "-all", str(path), str(directory / "img")], check=True, capture_output=True)
    return [p.read_bytes() for p in sorted(directory.iterdir())]


def html_images(path: Path) -> list[bytes]:
    text = Path(path).read_text(encoding="utf-8")
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/[a-z]+;base64,([A-Za-z0-9+/=]+)"', text)]
