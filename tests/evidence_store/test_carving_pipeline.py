"""Carving in the pipeline: files only carving can find are recovered, stored and not double-counted."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from forensics.sample import build_fat_image, sample_files
from tests.conftest import exhibit_cli, require_tools


def _reformatted_fat(tmp_path: Path) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """A FAT volume that was quick-formatted after files were written, then given new files.

    The old files' clusters are unallocated in the new file system: the walk cannot see them.
    """
    require_tools("mkfs.vfat", "mcopy")
    old = {k: v for k, v in sample_files(5).items() if k.endswith((".png", ".pdf", ".zip", ".bmp"))}
    image = build_fat_image(tmp_path / "fat.img", old, size_mib=16)
    subprocess.run(["mkfs.vfat", "-n", "REFORMAT", str(image)], check=True, capture_output=True)
    new = {"kept/report.pdf": sample_files(5)["docs/report.pdf"], "kept/note.txt": b"written after the format\n"}
    for name, data in new.items():
        staged = tmp_path / Path(name).name
        staged.write_bytes(data)
        subprocess.run(["mmd", "-D", "s", "-i", str(image), "::/kept"], capture_output=True,
                       env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"})
        subprocess.run(["mcopy", "-i", str(image), str(staged), f"::/{name}"], check=True, capture_output=True,
                       env={"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"})
    return image, old, new


def test_process_carves_what_the_walk_cannot_see(tmp_path, monkeypatch):
    image, old, new = _reformatted_fat(tmp_path)
    cli, _url = exhibit_cli(tmp_path, monkeypatch, image)
    out = cli("process", "--case", "C-1", "--exhibit", "E-1")
    assert "carved" in out
    files = [json.loads(line) for line in cli("files", "--case", "C-1", "--exhibit", "E-1", "--json").splitlines()]
    walked = {f["sha256"] for f in files if f["sha256"]}
    carved = [json.loads(line) for line in cli("carved", "--case", "C-1", "--exhibit", "E-1", "--json").splitlines()]
    by_hash = {c["sha256"]: c for c in carved}
    data = image.read_bytes()
    for name, content in old.items():
        digest = hashlib.sha256(content).hexdigest()
        if content in new.values():
            continue                                            # rewritten after the format: checked below
        assert digest not in walked, name                       # gone from the file system
        obj = by_hash[digest]                                   # ...but carved, bit-exact
        assert obj["status"] == "complete" and obj["duplicate_of"] is None
        assert Path(obj["artifact_path"]).read_bytes() == content
        assert b"".join(data[o:o + n] for o, n in obj["image_ranges"]) == content
        assert obj["source"] == "unallocated" and obj["carver_version"]
    report = hashlib.sha256(new["kept/report.pdf"]).hexdigest()
    assert report in walked and report in by_hash              # old copy carved, new copy walked:
    assert by_hash[report]["duplicate_of"] is not None         # linked, not counted twice
    new_only = [json.loads(line) for line in
                cli("carved", "--case", "C-1", "--exhibit", "E-1", "--new", "--json").splitlines()]
    assert {c["sha256"] for c in new_only} >= {hashlib.sha256(c).hexdigest() for c in old.values()
                                               if c not in new.values()}
    assert all(c["duplicate_of"] is None for c in new_only)
    # carving again adds nothing
    before = len(carved)
    cli("carve", "--case", "C-1", "--exhibit", "E-1")
    again = cli("carved", "--case", "C-1", "--exhibit", "E-1", "--json").splitlines()
    assert len(again) == before


def test_carve_batches_hold_ranges_by_bytes(tmp_path, monkeypatch):
    """The carve plan groups consecutive ranges into batches of ``batch_bytes`` at least (one Airflow
    task each, which costs seconds to start), never more than ``max_batches``, covering every range once."""
    from sqlalchemy import select

    from evidence_store.carving import _batches, plan_carving
    from evidence_store.db import Database
    from evidence_store.intake import lookup_exhibit
    from evidence_store.models import CarveRangeRow
    from evidence_store.runs import RunContext

    image, _old, _new = _reformatted_fat(tmp_path)
    cli, url = exhibit_cli(tmp_path, monkeypatch, image)
    cli("process", "--case", "C-1", "--exhibit", "E-1", "--no-match", "--no-carve")
    db = Database(url)
    _case_id, exhibit_id = lookup_exhibit(db, "C-1", "E-1")
    planned = plan_carving(db, exhibit_id, RunContext(), range_bytes=1 << 20, batch_bytes=4 << 20)
    with db.session() as session:
        ranges = session.execute(select(CarveRangeRow.id, CarveRangeRow.length).where(
            CarveRangeRow.exhibit_id == exhibit_id).order_by(CarveRangeRow.id)).all()
    lengths = dict(ranges)
    assert len(ranges) >= 8 and planned == _batches(db, exhibit_id, 4 << 20, 256) and 1 < len(planned) < len(ranges)
    for batch_bytes, max_batches in ((1, 256), (sum(lengths.values()) // 2, 256), (1 << 40, 256), (1, 1)):
        batches = _batches(db, exhibit_id, batch_bytes, max_batches)
        covered = [i for lo, hi in batches for i in lengths if lo <= i <= hi]
        assert covered == [i for i, _ in ranges] and len(batches) <= max_batches
        held = [sum(n for i, n in lengths.items() if lo <= i <= hi) for lo, hi in batches]
        assert all(h >= batch_bytes for h in held[:-1])
    assert len(_batches(db, exhibit_id, 1, 256)) == len(ranges)       # one range each
    assert len(_batches(db, exhibit_id, 1 << 40, 256)) == 1
