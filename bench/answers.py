"""What the pipeline answers on a fixed set of images, as canonical JSON lines, to compare two versions.

    .venv/bin/python bench/answers.py OUT.jsonl [--workdir DIR]
    .venv/bin/python bench/answers.py --compare BEFORE.jsonl AFTER.jsonl

Processes the demo disk (the demo's rule set, known-bad MD5 and PDQ lists applied), the sample
disk with NTFS, and the corpus images that are present, each into a fresh case database, and
writes one line per file entry, finding and carved object (surrogate ids left out). --compare
prints what differs, grouped by image and kind.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
CORPUS_IMAGES = ("dfvfs/image.E01", "dfvfs/mbr.raw", "dfvfs/ext2.raw", "dfvfs/image.vhd", "dfvfs/iso9660.raw",
                 "dfvfs/hfsplus.raw", "dfvfs/apfs.raw", "dfvfs/bdetogo.raw", "other/dftt/2-kwsrch-fat/fat-img-kw.dd",
                 "other/dftt/4-kwsrch-ext3/ext3-img-kw-1.dd", "other/dftt/5-fat-daylight/daylight.dd",
                 "other/dftt/9-fat-label/9-fat-label.dd", "other/sleuthkit/image.dd", "other/pytsk/image.raw")
FILE_FIELDS = ("path", "inode", "allocated", "size", "md5", "sha1", "sha256", "mime_type", "description",
               "extension_mismatch", "hash_status", "known_good", "restricted", "pdq_hash", "tlsh", "data_stream")
CARVED_FIELDS = ("offset", "size", "format", "status", "sha256", "mime_type", "source", "restricted", "pdq_hash",
                 "tlsh")


def images(workdir: Path) -> list[tuple[str, Path]]:
    from forensics.demo_material import UNPARTITIONED_OFFSET, demo_material
    from forensics.sample import build_sample_image

    material = demo_material()
    demo = workdir / "demo.raw"
    if not demo.exists():
        build_sample_image(demo, extra_files=material.files, unpartitioned=(UNPARTITIONED_OFFSET, material.unpartitioned))
    ntfs = workdir / "sample-ntfs.raw"
    if not ntfs.exists():
        build_sample_image(ntfs, size_mib=96, with_ntfs=True)
    found = [("demo", demo), ("sample-ntfs", ntfs)]
    found += [(name, CORPUS / name) for name in CORPUS_IMAGES if (CORPUS / name).exists()]
    return found


def record(out, workdir: Path) -> None:
    from sqlalchemy import select

    from evidence_store.db import Database
    from evidence_store.intake import add_exhibit, create_case, lookup_exhibit
    from evidence_store.models import CarvedObjectRow, FileEntry, Finding
    from evidence_store.pipeline import process_exhibit
    from evidence_store.runs import StageFailed
    from forensics.demo_material import YARA_RULES, demo_material, reference_pdq_list

    for label, image in images(workdir):
        os.environ["FORENSICS_DATA_DIR"] = str(workdir / f"data-{label.replace('/', '_')}")
        db = Database(f"sqlite:///{workdir / (label.replace('/', '_') + '.db')}")
        db.migrate()
        from evidence_store.knowledge import add_ruleset, import_hashset

        lists = workdir / "lists"
        lists.mkdir(exist_ok=True)
        (lists / "rules.yar").write_text(YARA_RULES)
        (lists / "bad.md5").write_text(demo_material().known_bad_md5_list)
        (lists / "bad.pdq").write_text(reference_pdq_list())
        add_ruleset(db, "DEMO-RULES", [str(lists / "rules.yar")], "1")
        import_hashset(db, str(lists / "bad.md5"), "BAD", "known-bad", version="1")
        import_hashset(db, str(lists / "bad.pdq"), "PDQ", "known-bad", fmt="pdq-list", version="1")
        create_case(db, "A")
        try:
            add_exhibit(db, "A", "E", str(image), "answers")
            process_exhibit(db, lookup_exhibit(db, "A", "E")[1])
        except StageFailed as exc:
            out.write(json.dumps({"image": label, "kind": "stopped", "message": exc.message}) + "\n")
        with db.session() as session:
            paths = {}
            for row in session.scalars(select(FileEntry).order_by(FileEntry.path, FileEntry.data_stream)):
                paths[row.id] = row.path
                out.write(json.dumps({"image": label, "kind": "file", **{f: getattr(row, f) for f in FILE_FIELDS}},
                                     sort_keys=True, default=str) + "\n")
            for row in session.scalars(select(CarvedObjectRow).order_by(CarvedObjectRow.offset)):
                out.write(json.dumps({"image": label, "kind": "carved",
                                      **{f: getattr(row, f) for f in CARVED_FIELDS}}, sort_keys=True, default=str) + "\n")
            rows = []
            for f in session.scalars(select(Finding)):
                rows.append({"image": label, "kind": "finding", "item": paths.get(f.file_entry_id) or
                             f"carved@{session.get(CarvedObjectRow, f.carved_object_id).offset}",
                             "matcher": f.matcher, "set": f.set_name, "outcome": f.outcome, "rule": f.rule,
                             "known": f.known, "category": f.category})
            for row in sorted(rows, key=lambda r: json.dumps(r, sort_keys=True)):
                out.write(json.dumps(row, sort_keys=True) + "\n")
        db.dispose()
        print(f"recorded {label}", file=sys.stderr)


def compare(before: Path, after: Path) -> int:
    def load(path: Path) -> dict[tuple, list[str]]:
        grouped = defaultdict(list)
        for line in path.read_text().splitlines():
            row = json.loads(line)
            grouped[(row["image"], row["kind"])].append(line)
        return grouped

    old, new = load(before), load(after)
    differences = 0
    for key in sorted(set(old) | set(new)):
        gone, added = sorted(set(old.get(key, [])) - set(new.get(key, []))), \
            sorted(set(new.get(key, [])) - set(old.get(key, [])))
        if gone or added:
            differences += len(gone) + len(added)
            print(f"== {key[0]} / {key[1]}: {len(gone)} only before, {len(added)} only after")
            for line in gone[:5]:
                print("  - " + line[:300])
            for line in added[:5]:
                print("  + " + line[:300])
    print(f"{differences} differing line(s) over {sum(map(len, old.values()))} before / {sum(map(len, new.values()))} after")
    return 1 if differences else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="answers-"))
    workdir.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as out:
        record(out, workdir)


if __name__ == "__main__":
    main()
