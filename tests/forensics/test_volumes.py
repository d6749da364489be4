"""Volume systems: GPT built here; LVM, APFS, VSS and an unrecognized partition from the corpus."""
from __future__ import annotations

import hashlib
import subprocess

from forensics.hashing import Digester
from forensics.sample import build_ext4_image, build_fat_image, sample_files
from forensics.volumes import scan_volumes
from forensics.walk import walk_file_system
from forensics.models import FileRecord
from tests.conftest import corpus_path, require_tools

MIB = 1024 * 1024


def _files(volume):
    return {r.path: r for r in walk_file_system(volume.locator) if isinstance(r, FileRecord)}


def test_gpt_partitions_are_found_and_walked(tmp_path):
    require_tools("sfdisk", "mkfs.vfat", "mcopy", "mke2fs")
    files = sample_files(3)
    fat = build_fat_image(tmp_path / "fat.img", files, size_mib=16)
    ext = build_ext4_image(tmp_path / "ext.img", files, size_mib=16)
    disk = tmp_path / "gpt.raw"
    with open(disk, "wb") as handle:
        handle.truncate(40 * MIB)
    script = "label: gpt\nstart=2048, size=32768, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n" \
             "start=34816, size=32768, type=0FC63DAF-8483-4772-8E79-3D69E4C7DE47\n"
    subprocess.run(["sfdisk", "--no-reread", "--no-tell-kernel", str(disk)], input=script.encode(),
                   check=True, capture_output=True)
    with open(disk, "r+b") as handle:
        for offset, image in ((2048 * 512, fat), (34816 * 512, ext)):
            handle.seek(offset)
            handle.write(image.read_bytes())
    volumes = list(scan_volumes(str(disk)))
    assert [(v.volume_system, v.offset, v.fs_type) for v in volumes] == [
        ("GPT", 2048 * 512, "FAT"), ("GPT", 34816 * 512, "EXT")]
    digester = Digester()
    for volume in volumes:
        found = _files(volume)
        for path, content in files.items():
            if volume.fs_type == "FAT" and not path.isascii():
                continue
            record = found["/" + path]
            assert digester.digest(record.locator, record.path).sha256 == hashlib.sha256(content).hexdigest()


def test_lvm_logical_volume_is_walked():
    volumes = list(scan_volumes(str(corpus_path("dfvfs/lvm.qcow2"))))
    assert [(v.volume_path, v.volume_system, v.fs_type) for v in volumes] == [("/lvm1", "LVM", "EXT")]
    assert "/a_directory/another_file" in _files(volumes[0])


def test_apfs_falls_back_to_dfvfs_with_a_warning():
    volumes = list(scan_volumes(str(corpus_path("dfvfs/apfs.raw"))))
    assert [(v.volume_path, v.fs_type) for v in volumes] == [("/apfs1", "APFS")]
    records = list(walk_file_system(volumes[0].locator))
    assert "deleted entries are not listed" in records[0].message
    files = {r.path: r for r in records if isinstance(r, FileRecord)}
    assert Digester().digest(files["/a_directory/another_file"].locator, "another_file").size == 22


def test_vss_stores_listed_and_unrecognized_partition_reported():
    kinds = [(v.volume_path, v.kind) for v in scan_volumes(str(corpus_path("dfvfs/vsstest.qcow2")))]
    assert ("/vss1", "snapshot") in kinds and ("/", "filesystem") in kinds
    split = [(v.volume_path, v.kind) for v in scan_volumes(str(corpus_path("dfvfs/image-split.E01")))]
    assert split == [("/p1", "unrecognized"), ("/p5", "filesystem")]


def test_exfat_is_walked_like_fls(tmp_path):
    """exFAT (mkfs.exfat; nothing in user space writes files into it without mounting):
    the walk lists what TSK's fls lists, metadata files included."""
    require_tools("mkfs.exfat", "fls")
    image = tmp_path / "exfat.img"
    with open(image, "wb") as handle:
        handle.truncate(32 * MIB)
    subprocess.run(["mkfs.exfat", "-L", "EXFATVOL", str(image)], check=True, capture_output=True)
    volumes = list(scan_volumes(str(image)))
    assert len(volumes) == 1 and volumes[0].kind == "filesystem"
    ours = {(r.path.lstrip("/"), r.inode) for r in walk_file_system(volumes[0].locator) if isinstance(r, FileRecord)}
    listing = subprocess.run(["fls", "-r", "-p", str(image)], capture_output=True, text=True, check=True).stdout
    theirs = set()
    for line in listing.splitlines():
        meta, _, name = line.partition("\t")
        theirs.add((name, int(meta.split()[-1].rstrip(":").split("-")[0])))
    assert ours == theirs and ours
