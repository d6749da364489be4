"""Recall against planted files, and against foremost and photorec on the same bytes.

Files of every carved format are written to ext4 and FAT images and deleted (debugfs rm
and mdel leave the data in unallocated blocks), so only carving can find them. Every
planted file must come back bit-exact from the unallocated ranges; and every planted file
foremost or photorec recovers bit-exact (run over the whole image) must be among ours.
False objects (outputs that are neither a planted nor an allocated file) are counted for
each tool and printed (``pytest -s``) as a small report.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import carving_material as material
from carving_tools import SUPPORTED, have, run_foremost, run_photorec
from forensics.carving import CarvedObject, CarveRange, carve, carve_range, carve_ranges
from forensics.reader import PreadReader
from forensics.image import inspect_source
from forensics.sample import build_ext4_image, build_fat_image
from forensics.volumes import scan_volumes
from tests.conftest import CORPUS, corpus_path, require_tools

KEEP = {"keep/visible.png": material.png(99), "keep/visible.jpg": material.jpeg(98), "keep/readme.txt": b"hi\n" * 50}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ours(image: Path) -> list[CarvedObject]:
    info = inspect_source(str(image))
    return [o for o in carve(carve_ranges(info.media_locator, scan_volumes(str(image))))
            if isinstance(o, CarvedObject)]


def _whole(image: Path) -> list[CarvedObject]:
    reader = PreadReader(str(image))
    rng = CarveRange("whole", 0, reader.size, "whole-image", None, 0)
    return [o for o in carve_range(reader, rng) if isinstance(o, CarvedObject)]


def _compare(name: str, image: Path, planted: dict[str, bytes], allocated: dict[str, bytes], ours: list[CarvedObject],
             workdir: Path) -> dict:
    """Recall of each tool on the planted files and its false objects; asserts ours ⊇ theirs."""
    planted_sha = {sha(d): p for p, d in planted.items()}
    known = set(planted_sha) | {sha(d) for d in allocated.values()}
    ours_complete = {o.sha256 for o in ours if o.status == "complete"}
    report = {"image": name, "planted": len(planted),
              "ours": {"recovered": len(ours_complete & set(planted_sha)), "objects": len(ours),
                       "false_objects": sum(1 for o in ours if o.sha256 not in known and o.embedded_in is None)}}
    for tool, run in (("foremost", run_foremost), ("photorec", run_photorec)):
        if not have(tool):
            continue
        outputs = [(ext, digest) for ext, digest, _ in run(image, workdir / tool) if ext in SUPPORTED]
        theirs = {digest for _, digest in outputs}
        missed = {planted_sha[d] for d in theirs & set(planted_sha)} - {planted_sha[d] for d in ours_complete
                                                                        if d in planted_sha}
        assert not missed, f"{tool} recovered {sorted(missed)} bit-exact but we did not"
        report[tool] = {"recovered": len(theirs & set(planted_sha)), "objects": len(outputs),
                        "false_objects": sum(1 for _, d in outputs if d not in known)}
    print("\ncarving accuracy:", json.dumps(report))
    return report


@pytest.fixture(scope="module")
def ext4_image(tmp_path_factory):
    require_tools("mke2fs", "debugfs")
    planted = material.planted_set()
    image = build_ext4_image(tmp_path_factory.mktemp("ext4") / "deleted-ext4.img", planted | KEEP,
                             delete=sorted(planted), size_mib=24)
    return image, planted


@pytest.fixture(scope="module")
def fat_image(tmp_path_factory):
    require_tools("mkfs.vfat", "mcopy", "mdel", "mmd")
    planted = material.planted_set(seed=8)
    image = build_fat_image(tmp_path_factory.mktemp("fat") / "deleted-fat.img", planted | KEEP,
                            delete=sorted(planted), size_mib=24)
    return image, planted


@pytest.mark.parametrize("which", ["ext4_image", "fat_image"])
def test_every_deleted_plant_is_recovered_bit_exact_from_unallocated_space(which, request):
    image, planted = request.getfixturevalue(which)
    ours = _ours(image)
    complete = {o.sha256: o for o in ours if o.status == "complete"}
    missing = [path for path, data in planted.items() if sha(data) not in complete]
    assert missing == []
    assert all(o.source == "unallocated" and o.image_ranges and o.fs_locator for o in ours)
    assert not {sha(d) for d in KEEP.values()} & set(complete)      # allocated files are not carved
    with open(image, "rb") as handle:                                # provenance: the ranges hold the bytes
        for data in planted.values():
            obj = complete[sha(data)]
            (start, length), = obj.image_ranges
            handle.seek(start)
            assert handle.read(length) == data


def test_ours_recover_at_least_what_foremost_and_photorec_recover(ext4_image, tmp_path):
    require_tools("foremost", "photorec")
    image, planted = ext4_image
    report = _compare("deleted-ext4", image, planted, KEEP, _ours(image), tmp_path)
    assert report["ours"]["recovered"] == len(planted)


@pytest.mark.corpus
def test_real_world_files_from_the_corpus_deleted_on_ext4(tmp_path):
    """JPEGs and PNGs of many encoders (pdq test images) and ZIPs (dfvfs) as found in the wild."""
    require_tools("mke2fs", "debugfs", "foremost", "photorec")
    corpus_path("pdq")
    picks = sorted((CORPUS / "pdq").rglob("*.jpg"))[:14] + sorted((CORPUS / "pdq").rglob("*.png")) \
        + sorted((CORPUS / "dfvfs" / "zip").glob("*.zip"))
    planted = {f"evidence/{n:02d}_{p.name}": p.read_bytes() for n, p in enumerate(picks)}
    size = max(32, sum(map(len, planted.values())) * 3 // (1 << 20) + 16)
    image = build_ext4_image(tmp_path / "corpus-ext4.img", planted | KEEP, delete=sorted(planted), size_mib=size)
    ours = _ours(image)
    complete = {o.sha256 for o in ours if o.status == "complete"}
    assert [p for p, d in planted.items() if sha(d) not in complete] == []
    _compare("corpus-files-ext4", image, planted, KEEP, ours, tmp_path)


@pytest.mark.corpus
@pytest.mark.parametrize("relative", ["other/dftt/9-fat-label/9-fat-label.dd", "other/dftt/2-kwsrch-fat/fat-img-kw.dd",
                                      "dfvfs/mbr.raw", "other/sleuthkit/image.dd"])
def test_corpus_disk_images_whole_image_recall(relative, tmp_path):
    """On the corpus disks every object foremost/photorec carve in a supported format that is
    a valid file (it starts one of our objects' bytes exactly) is found by us too."""
    require_tools("foremost", "photorec")
    image = corpus_path(relative)
    ours = _whole(image)
    ours_sha = {o.sha256 for o in ours}
    data = image.read_bytes()
    for tool, run in (("foremost", run_foremost), ("photorec", run_photorec)):
        for ext, digest, path in run(image, tmp_path / tool):
            if ext not in SUPPORTED or digest in ours_sha:
                continue
            # theirs differs from ours: it must not be a whole, valid object we missed,
            # i.e. no object of ours is a prefix of it at the same image offset
            theirs = path.read_bytes()
            at = data.find(theirs[:4096])
            assert at < 0 or not _valid_elsewhere(theirs), (tool, path.name)


def _valid_elsewhere(theirs: bytes) -> bool:
    """Whether the tool's output is itself a complete, valid object by our validators."""
    from forensics.reader import BytesReader

    rng = CarveRange("theirs", 0, len(theirs), "whole-image", None, 0)
    return any(o.offset == 0 and o.size == len(theirs) and o.status == "complete"
               for o in carve_range(BytesReader(theirs), rng) if isinstance(o, CarvedObject))
