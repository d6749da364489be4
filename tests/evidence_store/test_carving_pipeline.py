"""Carving in the pipeline: files only carving can find are recovered, stored and not double-counted."""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from forensics.sample import build_fat_image, sample_files
from tests.conftest import cli_for, require_tools


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
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    cli("case", "create", "C-1")
    cli("evidence", "add", str(image), "--case", "C-1", "--exhibit", "E-1", "--examiner", "t")
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
