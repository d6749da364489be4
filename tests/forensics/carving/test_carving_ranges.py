"""Where we carve, checked against The Sleuth Kit: unallocated blocks against ``blkls -A``,
disk-level space against ``mmls``'s Unallocated rows."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from carving_tools import blkls_unallocated, mmls_unallocated
from forensics.carving import CarveRange, CarveWarning, carve, carve_ranges
from forensics.image import inspect_source
from forensics.locator import from_locator
from forensics.sample import build_ext4_image, build_fat_image, build_sample_image
from forensics.tsk import TSKVolume
from forensics.volumes import scan_volumes
from tests.conftest import corpus_path, require_tools

SECTOR = 512


def _ranges(image: Path, **kwargs) -> list[CarveRange | CarveWarning]:
    info = inspect_source(str(image))
    return list(carve_ranges(info.media_locator, scan_volumes(str(image)), **kwargs))


def _assert_matches_blkls(image: Path) -> int:
    items = _ranges(image)
    checked = 0
    for volume in scan_volumes(str(image)):
        if volume.kind != "filesystem":
            continue
        start = volume.offset or 0
        block = TSKVolume(from_locator(volume.locator).parent).block_size
        ours: set[int] = set()
        for item in items:
            if isinstance(item, CarveRange) and item.source == "unallocated" and item.volume_path == volume.volume_path:
                rel = item.image_offset - start
                assert rel % block == 0 and item.length % block == 0
                ours.update(range(rel // block, (rel + item.length) // block))
        theirs = blkls_unallocated(image, start // SECTOR)
        assert ours == theirs, (volume.volume_path, sorted(ours ^ theirs)[:20])
        checked += 1
    return checked


@pytest.fixture(scope="module")
def sample_disk(tmp_path_factory):
    require_tools("sfdisk", "mkfs.vfat", "mcopy", "mke2fs", "debugfs", "mkntfs", "ntfscp", "blkls", "mmls")
    return build_sample_image(tmp_path_factory.mktemp("disk") / "disk.raw", with_ntfs=True)


def test_unallocated_blocks_equal_blkls_on_fat32_ext4_and_ntfs_partitions(sample_disk):
    assert _assert_matches_blkls(sample_disk.path) == 3


def test_multi_group_ext4_and_fat16_equal_blkls(tmp_path):
    require_tools("mke2fs", "debugfs", "mkfs.vfat", "mcopy", "blkls")
    files = {f"d{i}/f{j}.bin": bytes([i, j]) * (3000 * (j + 1)) for i in range(4) for j in range(6)}
    delete = [p for p in files if p.endswith(("1.bin", "4.bin"))]
    ext = build_ext4_image(tmp_path / "big-ext4.img", files, delete=delete, size_mib=300)   # 3 block groups
    fat = build_fat_image(tmp_path / "f16-fat.img", files, delete=delete, size_mib=24)
    assert _assert_matches_blkls(ext) == 1
    assert _assert_matches_blkls(fat) == 1


@pytest.mark.corpus
@pytest.mark.parametrize("relative", ["other/dftt/5-fat-daylight/daylight.dd", "other/dftt/9-fat-label/9-fat-label.dd",
                                      "other/dftt/2-kwsrch-fat/fat-img-kw.dd", "other/dftt/4-kwsrch-ext3/ext3-img-kw-1.dd",
                                      "other/sleuthkit/image.dd"])
def test_corpus_file_systems_equal_blkls(relative):
    require_tools("blkls")
    assert _assert_matches_blkls(corpus_path(relative)) == 1


def test_disk_level_space_equals_mmls_unallocated(sample_disk):
    items = _ranges(sample_disk.path)
    ours = sorted((r.image_offset // SECTOR, r.length // SECTOR) for r in items
                  if isinstance(r, CarveRange) and r.source in ("unpartitioned", "gap"))
    assert ours == sorted(mmls_unallocated(sample_disk.path))
    assert all(r.locator == inspect_source(str(sample_disk.path)).media_locator for r in items
               if isinstance(r, CarveRange))


@pytest.mark.corpus
def test_partition_gaps_of_a_corpus_disk_equal_mmls():
    require_tools("mmls")
    image = corpus_path("dfvfs/tsk_volume_system.raw")
    items = _ranges(image)
    ours = sorted((r.image_offset // SECTOR, r.length // SECTOR) for r in items
                  if isinstance(r, CarveRange) and r.source in ("unpartitioned", "gap"))
    assert ours == sorted(mmls_unallocated(image))         # incl. the sector after the extended table
    whole = [r for r in items if isinstance(r, CarveRange) and r.source == "volume"]
    assert [(r.volume_path, r.image_offset // SECTOR) for r in whole] == [("/p1", 1)]  # no file system found


def test_an_image_with_no_volume_is_carved_whole(tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 4096)
    media = f'{{"__type__":"PathSpec","parent":{{"__type__":"PathSpec","location":"{blob}","type_indicator":"OS"}},' \
            f'"type_indicator":"RAW"}}'
    items = list(carve_ranges(media, []))
    assert items == [CarveRange(media, 0, blob.stat().st_size, "whole-image", None, 0)]


def test_file_slack_ranges_hold_the_bytes_past_each_file_end(tmp_path):
    require_tools("mke2fs", "debugfs")
    import carving_material as material

    hidden = material.png(31, (40, 30))
    cover = b"visible text\n" + b"." * 87
    image = build_ext4_image(tmp_path / "slack-ext4.img", {"note.txt": cover + hidden})
    # shrink the inode size: the PNG now sits in the file's slack, as if the file were rewritten shorter
    subprocess.run(["debugfs", "-w", "-R", f"sif /note.txt size {len(cover)}", str(image)], check=True,
                   capture_output=True)
    items = _ranges(image, slack=True)
    slack = [r for r in items if isinstance(r, CarveRange) and r.source == "slack"]
    assert slack and all(r.length < 4096 for r in slack)
    found = [o for o in carve(slack) if not isinstance(o, CarveWarning)]
    import hashlib
    assert [(o.format, o.sha256, o.source) for o in found] == [("png", hashlib.sha256(hidden).hexdigest(), "slack")]


@pytest.mark.corpus
@pytest.mark.parametrize("container,raw", [("other/sleuthkit/image.E01", "other/sleuthkit/image.dd"),
                                           ("dfvfs/ext2.E01", "dfvfs/ext2.raw")])
def test_ranges_inside_an_e01_are_media_offsets_equal_to_the_raw_image(container, raw):
    """The same file system in an EWF container and in a raw file: same ranges, same objects."""
    def summary(path: Path):
        items = _ranges(path)
        ranges = [(r.offset, r.length, r.source, r.volume_path, r.image_offset) for r in items
                  if isinstance(r, CarveRange)]
        objects = sorted((o.offset, o.sha256) for o in carve(items) if not isinstance(o, CarveWarning))
        return ranges, objects

    assert summary(corpus_path(container)) == summary(corpus_path(raw))
