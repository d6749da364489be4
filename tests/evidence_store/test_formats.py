"""Every container format dfvfs opens gives the same inventory as the raw image.

The containers are made from the project's own sample disk by independent tools:
ewfacquire (E01, single and multi-segment), qemu-img (QCOW2, VHD, VHDX, VMDK)
and split(1) for split raw.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from evidence_store.intake import add_exhibit, create_case
from evidence_store.models import FileEntry, Volume
from evidence_store.pipeline import process_exhibit
from tests.conftest import require_tools


def _inventory(db, exhibit_id):
    with db.session() as session:
        rows = session.execute(
            select(Volume.volume_path, FileEntry.path, FileEntry.inode, FileEntry.allocated, FileEntry.size,
                   FileEntry.sha256)
            .join(Volume, Volume.id == FileEntry.volume_id).where(FileEntry.exhibit_id == exhibit_id)).all()
    return sorted(tuple(r) for r in rows)


def _ewf(source: Path, target: Path, segment_bytes: int | None = None) -> Path:
    require_tools("ewfacquire")
    compression = "none" if segment_bytes else "deflate:fast"   # uncompressed so it spans segments
    args = ["ewfacquire", "-u", "-q", "-t", str(target), "-d", "sha1", "-c", compression,
            "-C", "CASE-1", "-E", "EX-E01", "-e", "tester"]
    if segment_bytes:
        args += ["-S", str(segment_bytes)]
    subprocess.run(args + [str(source)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return target.with_suffix(".E01")


def _qemu(source: Path, target: Path, fmt: str, *options: str) -> Path:
    require_tools("qemu-img")
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *options, str(source), str(target)],
                   check=True, capture_output=True)
    return target


def _split(source: Path, target_dir: Path) -> Path:
    data = source.read_bytes()
    part = 16 * 1024 * 1024
    for index in range(0, (len(data) + part - 1) // part):
        (target_dir / f"disk.{index:03d}").write_bytes(data[index * part:(index + 1) * part])
    return target_dir / "disk.000"


BUILDERS = {
    "e01": lambda src, d: _ewf(src, d / "disk"),
    "e01-multisegment": lambda src, d: _ewf(src, d / "disk", segment_bytes=1024 * 1024),
    "split-raw": _split,
    "qcow2": lambda src, d: _qemu(src, d / "disk.qcow2", "qcow2"),
    "vhd": lambda src, d: _qemu(src, d / "disk.vhd", "vpc", "-o", "subformat=fixed,force_size=on"),
    "vhd-dynamic": lambda src, d: _qemu(src, d / "disk.vhd", "vpc", "-o", "force_size=on"),
    "vhdx": lambda src, d: _qemu(src, d / "disk.vhdx", "vhdx"),
    "vmdk": lambda src, d: _qemu(src, d / "disk.vmdk", "vmdk"),
}


@pytest.fixture(scope="module")
def raw_inventory(sample_image, tmp_path_factory):
    from evidence_store.db import Database

    db = Database(f"sqlite:///{tmp_path_factory.mktemp('raw') / 'raw.db'}")
    db.migrate()
    create_case(db, "CASE-1")
    exhibit = add_exhibit(db, "CASE-1", "RAW", str(sample_image.path), "tester")
    process_exhibit(db, exhibit.id)
    return exhibit, _inventory(db, exhibit.id)


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_container_matches_raw(fmt, sample_image, raw_inventory, sqlite_db, tmp_path):
    raw_exhibit, expected = raw_inventory
    image = BUILDERS[fmt](sample_image.path, tmp_path)
    create_case(sqlite_db, "CASE-1")
    exhibit = add_exhibit(sqlite_db, "CASE-1", fmt, str(image), "tester")
    assert exhibit.sha256 == raw_exhibit.sha256        # same media bytes, whatever the container
    assert exhibit.media_size == raw_exhibit.media_size
    if fmt.startswith("e01"):
        assert exhibit.image_format == "ewf"
        assert exhibit.stored_hashes["md5"] == exhibit.md5       # ewfacquire's own digest, checked
        assert exhibit.stored_hashes["sha1"] == exhibit.sha1
        assert exhibit.verification == "verified"
        assert len(exhibit.segments) == (1 if fmt == "e01" else len(list(tmp_path.glob("disk.E*"))))
        if fmt == "e01-multisegment":
            assert len(exhibit.segments) > 1
    if fmt == "split-raw":
        assert len(exhibit.segments) == 4
    process_exhibit(sqlite_db, exhibit.id)
    assert _inventory(sqlite_db, exhibit.id) == expected


def test_e01_missing_segment_stops_only_that_exhibit(sample_image, sqlite_db, tmp_path):
    from evidence_store.runs import StageFailed

    first = _ewf(sample_image.path, tmp_path / "disk", segment_bytes=1024 * 1024)
    segments = sorted(tmp_path.glob("disk.E*"))
    assert len(segments) > 2
    segments[1].unlink()
    create_case(sqlite_db, "CASE-1")
    with pytest.raises(StageFailed, match="segment") as error:
        add_exhibit(sqlite_db, "CASE-1", "BROKEN", str(first), "tester")
    assert "BROKEN" in str(error.value)
    good = add_exhibit(sqlite_db, "CASE-1", "GOOD", str(sample_image.path), "tester")
    assert process_exhibit(sqlite_db, good.id)["status"] == "complete"
