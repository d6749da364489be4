"""Case report at scale: time and peak memory of ``forensics report create`` on a large case.

    .venv/bin/python bench/report_bench.py [--entries 1000000] [--findings 50000] [--small 5000]

Builds (once, cached under bench/out/) a SQLite case database holding ENTRIES file entries and
FINDINGS findings (YARA, known-bad and known-good hash hits spread over the entries), then runs
``forensics report create`` as a separate process for the PDF and the HTML edition, on the full
case and on one with SMALL findings, and prints wall time and peak RSS for each. Bounded memory
means the peak does not grow with the number of findings: compare the two rows of each format.
No peer tool writes a comparable report here (Autopsy's and IPED's reporters need their own case
formats and a desktop), so the figures stand alone.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parents[1]


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def build(path: Path, entries: int, findings: int) -> None:
    """A processed-looking case: one exhibit, two volumes, ENTRIES files, FINDINGS findings."""
    from evidence_store.custody.ledger import Event, append
    from evidence_store.db import Database
    from evidence_store.lab import configure
    from evidence_store.models import Case, Exhibit, FileEntry, Finding, ProcessingRun, Volume
    from evidence_store.runs import library_versions

    rng = random.Random(7)
    image = path.with_suffix(".img")
    image.write_bytes(b"\0" * 4096)
    db = Database(f"sqlite:///{path}")
    db.migrate()
    configure(db, name="Bench Lab", address="1 Bench Road", declaration="Bench declaration.", actor=("bench", "admin"))
    with db.session() as session:
        case = Case(name="BENCH", title="report scale", examiner="bench")
        session.add(case)
        session.flush()
        exhibit = Exhibit(case_id=case.id, number="EX-1", examiner="bench", image_path=str(image), image_format="raw",
                          segments=[str(image)], media_size=2 << 40, md5=_hex(rng, 32), sha1=_hex(rng, 40),
                          sha256=_hex(rng, 64), verification="verified", status="complete")
        session.add(exhibit)
        session.flush()
        append(session, Event(action="intake", actor="bench", actor_role="technician", case_name="BENCH",
                              exhibit="EX-1", location=str(image), idempotency_key="bench-intake"))
        volumes = [Volume(exhibit_id=exhibit.id, locator=f'{{"v":{i}}}', locator_key=f"v{i}", volume_path=f"/p{i}",
                          kind="filesystem", volume_system="GPT", offset=i << 30, size=1 << 40, fs_type="NTFS",
                          walk_status="walked", entry_count=entries // 2) for i in (1, 2)]
        session.add_all(volumes)
        session.flush()
        ids = (exhibit.id, [v.id for v in volumes])
        for stage in ("intake", "scan", "walk", "hash", "match", "finalize"):
            session.add(ProcessingRun(run_key=f"bench:{stage}", case_id=case.id, exhibit_id=exhibit.id, stage=stage,
                                      tool="forensics-pipeline", tool_version="0.1.0",
                                      library_versions=library_versions(), orchestrator="cli",
                                      parameters={"options": {"pdq_radius": 31, "pdq_min_quality": 50}}
                                      if stage == "match" else {}, outcome="success"))
    table = FileEntry.__table__
    started = time.monotonic()
    with db.engine.begin() as connection:
        batch = []
        for n in range(1, entries + 1):
            batch.append(dict(exhibit_id=ids[0], volume_id=ids[1][n % 2], locator=f'{{"e":{n}}}',
                              locator_key=hashlib.sha1(str(n).encode()).hexdigest(),
                              path=f"/Users/user{n % 40}/Documents/folder{n // 1000}/file_{n}.bin", name=f"file_{n}.bin",
                              inode=n, allocated=n % 9 != 0, name_type="r", meta_type="r", size=n * 37 % 10_000_000,
                              data_stream="", has_content=True, md5=_hex(rng, 32), sha1=_hex(rng, 40),
                              sha256=_hex(rng, 64), bytes_hashed=0, mime_type="application/octet-stream",
                              hash_status="hashed", known_good=False, restricted=False, match_status="bench"))
            if len(batch) == 20_000:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
    finding_table = Finding.__table__
    with db.engine.begin() as connection:
        first = connection.execute(table.select().with_only_columns(table.c.id).order_by(table.c.id).limit(1)).scalar()
        rows = []
        for n in range(findings):
            kind = n % 10
            matcher, known, outcome = (("yara", None, "match") if kind < 3 else ("hashset", "known-bad", "match")
                                       if kind < 5 else ("hashset", "known-good", "match"))
            rows.append(dict(exhibit_id=ids[0], file_entry_id=first + (n * 19) % entries, matcher=matcher,
                             matcher_version="1", engine_versions={"yara-python": "4.5"}, set_name=f"SET-{kind}",
                             set_version="2026.12", set_sha256=_hex(rng, 64), outcome=outcome,
                             rule=f"rule_{n % 300}" if matcher == "yara" else "md5", category=None, known=known,
                             detail={}, finding_key=f"f{n}"))
        connection.execute(finding_table.insert(), rows)
    db.dispose()
    print(f"built {path.name}: {entries:,} entries, {findings:,} findings in {time.monotonic() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--findings", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--formats", default="pdf,html")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for findings in (args.small, args.findings):
        path = OUT / f"report-bench-{args.entries}-{findings}.db"
        if not path.exists():
            build(path, args.entries, findings)
        for fmt in args.formats.split(","):
            env = dict(os.environ, FORENSICS_DATA_DIR=str(OUT / f"report-data-{findings}"))
            step = run(f"report-{fmt}-{findings}", [str(REPO / ".venv/bin/forensics"), "--db", f"sqlite:///{path}",
                                                    "report", "create", "--case", "BENCH", "--examiner", "Bench",
                                                    "--format", fmt], OUT / "logs", env=env)
            if not step.ok:
                print(f"report-{fmt}-{findings} failed:\n{step.error_tail()}")
                continue
            produced = sorted((OUT / f"report-data-{findings}" / "reports" / "BENCH").glob(f"*.{fmt}"),
                              key=lambda p: p.stat().st_mtime)[-1]
            rows.append((fmt, findings, step.wall_seconds, step.peak_rss / 2**20, produced.stat().st_size / 2**20))
    print(f"\n{args.entries:,} file entries per case")
    print(f"{'format':<7}{'findings':>10}{'wall s':>9}{'findings/s':>12}{'peak RSS MiB':>14}{'file MiB':>10}")
    for fmt, findings, wall, rss, size in rows:
        print(f"{fmt:<7}{findings:>10,}{wall:>9.1f}{findings / wall:>12,.0f}{rss:>14.0f}{size:>10.1f}")


if __name__ == "__main__":
    main()
