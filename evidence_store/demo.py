"""``forensics demo``: the whole mission on a sample disk the project builds itself.

Lab settings and a signing key (a demo key, if the machine has none), a YARA rule set, a
known-bad MD5 list and a PDQ list, a case with an exhibit, the full pipeline, a verified
custody ledger, and a report drafted, authorised by a second person and issued.
Running it again reuses what exists (the image is never rebuilt once registered).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evidence_store.custody.ledger import default_actor
from evidence_store.db import Database
from evidence_store.pipeline import Progress

CASE, EXHIBIT = "DEMO-001", "EX-1"
LINKED_CASE = "DEMO-002"                 # another unit's case that shares content with DEMO-001
EXAMINER, REVIEWER = "A. Examiner (demo)", "R. Reviewer (demo)"
DECLARATION = (
    "I, the examiner named below, declare that this report is true to the best of my knowledge and belief; that it "
    "states the facts on which my conclusions are based, the methods used and their limitations; and that I "
    "understand my duty to the court to give objective, unbiased evidence and to disclose anything that might "
    "detract from it (CrimPR 19.4; Forensic Science Regulator Code of Practice).\n"
    "This is the demo lab's text: a lab sets its own with 'forensics lab configure --declaration-file FILE'.")


@dataclass(frozen=True)
class DemoResult:
    image: Path
    summary: dict
    ledger_ok: bool
    ledger_detail: str
    report_id: str
    report_path: str
    report_sha256: str
    verified: bool
    findings: dict[str, int]
    links: tuple = ()                    # DEMO-001's links to other cases, as a report shows them (need to know)


def run_demo(db: Database, workdir: Path, progress: Progress, say: Callable[[str], None]) -> DemoResult:
    from evidence_store.custody.service import verify
    from evidence_store.intake import add_exhibit, create_case, lookup_exhibit
    from evidence_store.pipeline import process_exhibit
    from evidence_store.queries import iter_findings
    from evidence_store.reports.verify import verify_file
    from evidence_store.reports.workflow import authorise, create, issue

    workdir.mkdir(parents=True, exist_ok=True)
    image = _image(workdir, say)
    _lab(db, say)
    _key(db, say)
    _knowledge(db, workdir, say)
    create_case(db, CASE, "Sample case built by forensics demo", EXAMINER, requester="DC 1234 Demo, Op. SAMPLE",
                request_reference="REQ-2026-0001", legal_authority="Search warrant 77/26 (demo)",
                contact="demo-lab@example.org")
    add_exhibit(db, CASE, EXHIBIT, str(image), EXAMINER, description="Sample disk image (64 MiB, MBR, FAT32 + ext4)",
                seals=("S-DEMO-0001",), condition="sealed bag, seal intact, no damage")
    _, exhibit_id = lookup_exhibit(db, CASE, EXHIBIT)
    summary = process_exhibit(db, exhibit_id, progress=progress)
    _linked_case(db, workdir, say)
    from evidence_store.links.access import visible_links

    links = tuple(visible_links(db, CASE, None))
    reports, _anchor = verify(db, CASE)
    ledger_ok = all(r.ok for r in reports)
    ledger_detail = "; ".join(f"{r.chain}: {r.events} events, last signed at {r.last_checkpoint_seq}" for r in reports)
    draft = create(db, CASE, examiner=EXAMINER, fmt="pdf", edition="prosecution")
    authorise(db, draft.report_id, reviewer=REVIEWER, note="Checked against the case database (demo).")
    issued = issue(db, draft.report_id, actor=default_actor())
    checked = verify_file(db, Path(issued.path))
    findings: dict[str, int] = {}
    for row in iter_findings(db, CASE, EXHIBIT):
        if row["outcome"] == "match":
            findings[row["matcher"]] = findings.get(row["matcher"], 0) + 1
    return DemoResult(image, summary, ledger_ok, ledger_detail, issued.report_id, issued.path, issued.sha256,
                      checked.ok, findings, links)


def _image(workdir: Path, say: Callable[[str], None]) -> Path:
    from forensics.demo_material import UNPARTITIONED_OFFSET, demo_material
    from forensics.sample import build_sample_image

    path = workdir / "sample-disk.raw"
    if path.exists():
        say(f"using the sample image {path} (already built; evidence is never rebuilt)")
        return path
    material = demo_material()
    built = build_sample_image(path, extra_files=material.files,
                               unpartitioned=(UNPARTITIONED_OFFSET, material.unpartitioned))
    path.chmod(0o444)
    say(f"built sample image {built.path} ({built.size:,} bytes, {len(built.partitions)} partitions, "
        f"{len(built.files)} planted files)")
    return path


def _linked_case(db: Database, workdir: Path, say: Callable[[str], None]) -> None:
    """Another unit's case, processed, so that DEMO-001 has a link to show (and its report a section 9)."""
    from evidence_store.intake import add_exhibit, create_case, lookup_exhibit
    from evidence_store.models import Exhibit
    from evidence_store.pipeline import process_exhibit
    from evidence_store.stages.options import StageOptions
    from forensics.demo_material import linked_case_files
    from forensics.sample import build_fat_image

    path = workdir / "second-disk.raw"
    if not path.exists():
        build_fat_image(path, linked_case_files(), size_mib=16, volume_id="5EC0D002")
        path.chmod(0o444)
        say(f"built a second sample disk {path} for case {LINKED_CASE} (another unit's)")
    create_case(db, LINKED_CASE, "Second sample case (another unit)", "B. Examiner (demo)",
                contact="Unit B duty desk, unit-b@example.org")
    add_exhibit(db, LINKED_CASE, EXHIBIT, str(path), "B. Examiner (demo)", description="USB stick (16 MiB, FAT)")
    _, exhibit_id = lookup_exhibit(db, LINKED_CASE, EXHIBIT)
    with db.session() as session:
        done = session.get(Exhibit, exhibit_id).status == "complete"
    if not done:
        process_exhibit(db, exhibit_id, options=StageOptions(carve=False))


def _lab(db: Database, say: Callable[[str], None]) -> None:
    from evidence_store.lab import configure
    from evidence_store.models import LabSettings

    with db.session() as session:
        if session.get(LabSettings, 1) is not None:
            return
    configure(db, name="Demo Digital Forensics Laboratory", address="1 Example Street, Exampleton EX1 2MP",
              accreditation="demo only (no accreditation)", declaration=DECLARATION, actor=default_actor())
    say("configured the demo lab (forensics lab configure)")


def _key(db: Database, say: Callable[[str], None]) -> None:
    from evidence_store.custody.signing import create_key, key_dir, load_private, register_key

    key = load_private()
    if key is None:
        key = create_key(key_dir())
        say(f"created a DEMO custody signing key in {key_dir()} (a lab creates its own: forensics custody keygen)")
    with db.session() as session:
        register_key(session, key.public_key(), "demo key", default_actor())


def _knowledge(db: Database, workdir: Path, say: Callable[[str], None]) -> None:
    from evidence_store.knowledge import add_ruleset, import_hashset
    from forensics.demo_material import YARA_RULES, demo_material, reference_pdq_list

    lists = workdir / "reference"
    lists.mkdir(exist_ok=True)
    (lists / "demo-rules.yar").write_text(YARA_RULES)
    (lists / "known-bad.md5").write_text(demo_material().known_bad_md5_list)
    (lists / "restricted.pdq").write_text(reference_pdq_list())
    add_ruleset(db, "DEMO-RULES", [str(lists / "demo-rules.yar")], "2026.12")
    import_hashset(db, str(lists / "known-bad.md5"), "DEMO-KNOWN-BAD", "known-bad", category="malware (demo)",
                   version="2026.12")
    import_hashset(db, str(lists / "restricted.pdq"), "DEMO-PDQ", "known-bad", fmt="pdq-list", version="2026.12")
    say(f"imported rule set DEMO-RULES, hash sets DEMO-KNOWN-BAD and DEMO-PDQ (from {lists})")
