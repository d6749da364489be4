"""Bad evidence gives a clear, recorded error for that exhibit and nothing else is lost."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select

from evidence_store.stages import volumes
from evidence_store.intake import add_exhibit, create_case
from evidence_store.models import Exhibit, FileEntry, ProcessingWarning, Volume
from evidence_store.pipeline import process_exhibit
from evidence_store.runs import RunContext, StageFailed
from tests.conftest import corpus_path, require_tools


def _warnings(db, exhibit_number):
    with db.session() as session:
        return session.execute(select(ProcessingWarning.stage, ProcessingWarning.severity, ProcessingWarning.message)
                               .join(Exhibit, Exhibit.id == ProcessingWarning.exhibit_id)
                               .where(Exhibit.number == exhibit_number)).all()


def _status(db, number):
    with db.session() as session:
        return session.scalar(select(Exhibit.status).where(Exhibit.number == number))


@pytest.fixture
def case_db(sqlite_db):
    create_case(sqlite_db, "CASE-1")
    return sqlite_db


@pytest.mark.parametrize("name,content,kind", [
    ("garbage.bin", bytes(range(256)) * 4096, "unknown-format"),
    ("empty.dd", b"", "unknown-format"),
])
def test_unrecognized_input_is_refused_and_recorded(case_db, tmp_path, name, content, kind):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(StageFailed) as error:
        add_exhibit(case_db, "CASE-1", "BAD-1", str(path), "tester")
    assert str(error.value).startswith("exhibit BAD-1:") and kind in str(error.value)
    assert _status(case_db, "BAD-1") == "failed"
    assert any(kind in message for _, _, message in _warnings(case_db, "BAD-1"))


def test_missing_file_is_refused(case_db, tmp_path):
    with pytest.raises(StageFailed, match="not-found"):
        add_exhibit(case_db, "CASE-1", "GONE", str(tmp_path / "nope.E01"), "tester")


def test_encrypted_volume_that_cannot_be_opened(case_db):
    image = corpus_path("dfvfs/bdetogo.raw")  # truncated BitLocker To Go volume: cannot be unlocked
    exhibit = add_exhibit(case_db, "CASE-1", "BDE", str(image), "tester")
    summary = process_exhibit(case_db, exhibit.id)
    errors = [m for _, severity, m in _warnings(case_db, "BDE") if severity == "error"]
    assert any("BitLocker volume cannot be opened" in m for m in errors)
    with case_db.session() as session:
        kinds = sorted(session.scalars(select(Volume.kind).where(Volume.exhibit_id == exhibit.id)))
    assert kinds == ["encrypted", "filesystem"]
    # the unencrypted discovery volume beside it is still walked (42 entries in TSK's own listing)
    assert summary["entries"] == 42


def test_truncated_disk_keeps_what_survives(case_db, sample_image, tmp_path):
    truncated = tmp_path / "truncated.raw"
    fat = next(p for p in sample_image.partitions if p[3] == "fat")
    with open(sample_image.path, "rb") as source, open(truncated, "wb") as target:
        target.write(source.read(fat[1] + fat[2] - 4 * 1024 * 1024))   # ext4 gone, FAT cut short
    exhibit = add_exhibit(case_db, "CASE-1", "TRUNC", str(truncated), "tester")
    summary = process_exhibit(case_db, exhibit.id)
    assert summary["status"] == "complete"
    messages = [m for _, _, m in _warnings(case_db, "TRUNC")]
    assert any("truncated image" in m and m.startswith("/p1") for m in messages)
    assert any("/p2" in m and "nothing of it is present" in m for m in messages)
    with case_db.session() as session:
        paths = set(session.scalars(select(FileEntry.path).where(FileEntry.exhibit_id == exhibit.id)))
    planted = {"/" + f.path for f in sample_image.files if f.partition == fat[0]}
    assert planted <= paths                       # the FAT directory tree is all still there


def test_bad_exhibit_does_not_stop_the_others(case_db, sample_image, tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00garbage" * 50000)
    with pytest.raises(StageFailed):
        add_exhibit(case_db, "CASE-1", "BAD", str(garbage), "tester")
    good = add_exhibit(case_db, "CASE-1", "GOOD", str(sample_image.path), "tester")
    assert process_exhibit(case_db, good.id)["status"] == "complete"
    assert _status(case_db, "BAD") == "failed"


def test_corrupt_directory_is_a_warning_and_the_walk_goes_on(case_db, tmp_path):
    from forensics.sample import build_ext4_image, sample_files

    if shutil.which("debugfs") is None and not shutil.os.path.exists("/usr/sbin/debugfs"):
        pytest.skip("debugfs not installed")
    image = build_ext4_image(tmp_path / "ext4.img", sample_files(1))
    blocks = subprocess.run(["debugfs", "-R", "blocks /docs", str(image)], capture_output=True, text=True,
                            check=True).stdout.split()
    with open(image, "r+b") as handle:            # overwrite the /docs directory block with junk
        handle.seek(int(blocks[0]) * 4096)
        handle.write(b"\xff" * 4096)
    exhibit = add_exhibit(case_db, "CASE-1", "CORRUPT", str(image), "tester")
    process_exhibit(case_db, exhibit.id)
    with case_db.session() as session:
        paths = set(session.scalars(select(FileEntry.path).where(FileEntry.exhibit_id == exhibit.id)))
    assert "/images/logo.png" in paths and "/web/index.html" in paths    # siblings still walked
    assert not any(p.startswith("/docs/") for p in paths)
    assert any("directory /docs lists no entries" in m for _, _, m in _warnings(case_db, "CORRUPT"))


def test_walk_that_dies_midway_keeps_what_was_walked(case_db, sample_image, monkeypatch):
    exhibit = add_exhibit(case_db, "CASE-1", "MIDWAY", str(sample_image.path), "tester")
    ctx = RunContext()
    volumes.register(case_db, exhibit.id, ctx)
    volume_ids = volumes.scan(case_db, exhibit.id, ctx)

    from forensics.walk import walk_file_system as real

    def dying_walk(locator, credentials=()):
        for index, record in enumerate(real(locator, credentials)):
            if index == 5:
                raise OSError("simulated read error on the device")
            yield record

    monkeypatch.setattr("forensics.walk.walk_file_system", dying_walk)
    assert volumes.walk(case_db, volume_ids[0], ctx) == 5
    with case_db.session() as session:
        volume = session.get(Volume, volume_ids[0])
        assert volume.walk_status == "partial" and volume.entry_count == 5
        count = len(session.scalars(select(FileEntry.id).where(FileEntry.volume_id == volume.id)).all())
    assert count == 5
    stopped = [m for _, severity, m in _warnings(case_db, "MIDWAY") if severity == "error"]
    assert len(stopped) == 1 and "walk stopped after 5 entries, last at /" in stopped[0]
    assert "simulated read error" in stopped[0]


def test_hash_mismatch_halts_until_overridden(case_db, sample_image):
    wrong = "0" * 64
    with pytest.raises(StageFailed, match="hash mismatch"):
        add_exhibit(case_db, "CASE-1", "EX-1", str(sample_image.path), "tester", expected_sha256=wrong)
    with case_db.session() as session:
        exhibit = session.scalar(select(Exhibit).where(Exhibit.number == "EX-1"))
        assert (exhibit.status, exhibit.verification) == ("halted", "mismatch")
    with pytest.raises(StageFailed, match="hash mismatch"):
        process_exhibit(case_db, exhibit.id)           # processing refuses too
    with case_db.session() as session:
        assert session.scalars(select(FileEntry.id)).all() == []
    overridden = add_exhibit(case_db, "CASE-1", "EX-1", str(sample_image.path), "tester",
                             override_reason="examiner typo in expected hash, checked against seal log")
    assert overridden.verification == "override"
    assert process_exhibit(case_db, overridden.id)["status"] == "complete"
    recorded = [m for stage, _, m in _warnings(case_db, "EX-1") if stage == "intake"]
    assert any("overridden" in m and "seal log" in m for m in recorded)
    assert any(m.startswith("hash mismatch") for m in recorded)


def test_matching_expected_hash_verifies(case_db, sample_image):
    import hashlib

    digest = hashlib.sha256(sample_image.path.read_bytes()).hexdigest()
    exhibit = add_exhibit(case_db, "CASE-1", "EX-1", str(sample_image.path), "tester", expected_sha256=digest.upper())
    assert exhibit.verification == "verified"


def test_directory_loop_is_one_warning_naming_both_paths(case_db, tmp_path):
    """A directory entry pointing back at an ancestor: listed once, one warning, no endless walk."""
    from forensics.sample import build_ext4_image, sample_files

    require_tools("mke2fs", "debugfs")
    image = build_ext4_image(tmp_path / "loop.img", sample_files(1))
    subprocess.run(["debugfs", "-w", "-R", "mkdir /docs/inner", str(image)], check=True, capture_output=True)
    subprocess.run(["debugfs", "-w", "-R", "ln /docs /docs/inner/back", str(image)], check=True, capture_output=True)
    exhibit = add_exhibit(case_db, "CASE-1", "LOOP", str(image), "tester")
    assert process_exhibit(case_db, exhibit.id)["status"] == "complete"
    with case_db.session() as session:
        paths = set(session.scalars(select(FileEntry.path).where(FileEntry.exhibit_id == exhibit.id)))
    assert "/docs/inner/back" in paths and not any(p.startswith("/docs/inner/back/") for p in paths)
    loops = [m for _, _, m in _warnings(case_db, "LOOP") if "directory loop" in m]
    assert len(loops) == 1 and loops[0].endswith("directory loop: /docs/inner/back is directory /docs again "
                                                 f"(inode {loops[0].split('inode ')[1].split(')')[0]}); "
                                                 "listed once, not walked again")


@pytest.mark.parametrize("start,count,ambiguous", [(2048, 4096, True), (63, 1_000_000_000, True),
                                                   (1_000_000_000, 2048, False)],
                         ids=["empty-partition", "past-the-end", "far-outside"])
def test_file_system_behind_a_bogus_partition_table(case_db, tmp_path, start, count, ambiguous):
    """A FAT32 boot sector that also parses as an MBR with one useless entry: the file system at
    offset 0 is walked (fls lists it) and a warning says which reading was used."""
    import struct

    from forensics.sample import build_fat_image, sample_files

    require_tools("mkfs.vfat", "mcopy")
    files = sample_files(1)
    image = build_fat_image(tmp_path / "bogus.img", files, size_mib=64)
    with open(image, "r+b") as handle:
        handle.seek(446)
        handle.write(bytes([0x80, 0, 0, 0, 0x0C, 0, 0, 0]) + struct.pack("<II", start, count))
    exhibit = add_exhibit(case_db, "CASE-1", f"BOGUS-{start}", str(image), "tester")
    summary = process_exhibit(case_db, exhibit.id)
    with case_db.session() as session:
        paths = set(session.scalars(select(FileEntry.path).where(FileEntry.exhibit_id == exhibit.id)))
    assert {"/" + p for p in files} <= paths, "the files at offset 0 were not walked"
    assert summary["entries"] >= len(files)
    said = [m for _, _, m in _warnings(case_db, f"BOGUS-{start}") if "offset 0 was walked" in m]
    if ambiguous:      # TSK took the table: both readings were made, the warning says which was walked
        assert len(said) == 1 and "reads both as a FAT32 boot sector" in said[0]
    else:              # no volume system takes an entry starting 476 GiB past a 64 MiB image
        assert said == []
