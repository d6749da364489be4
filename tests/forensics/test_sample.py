"""Sample images checked against The Sleuth Kit (mmls, fls, icat), not against our own code."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest

from forensics.sample import (
    DELETED,
    PlantedFile,
    SampleImage,
    SampleToolMissing,
    build_ext4_image,
    build_fat_image,
    build_sample_image,
    require_tools,
    sample_files,
)

try:
    require_tools("sfdisk", "mkfs.vfat", "mmd", "mcopy", "mdel", "mke2fs", "debugfs")
except SampleToolMissing as missing:
    pytest.skip(str(missing), allow_module_level=True)
if not all(shutil.which(tool) for tool in ("mmls", "fls", "icat")):
    pytest.skip("The Sleuth Kit (mmls, fls, icat) is not installed", allow_module_level=True)

SECTOR = 512


def _tsk(*args: str | Path) -> bytes:
    return subprocess.run([str(a) for a in args], capture_output=True, check=True).stdout


def _fls(image: Path, offset: int) -> dict[str, tuple[bool, str]]:
    """path -> (deleted, inode) from `fls -r -p`, e.g. 'r/r * 14(realloc):<TAB>docs/x.txt'."""
    entries: dict[str, tuple[bool, str]] = {}
    for line in _tsk("fls", "-r", "-p", "-o", offset // SECTOR, image).decode("utf-8").splitlines():
        meta, _, path = line.partition(":\t")
        fields = meta.split()
        if fields[0] in ("r/r", "-/r"):
            entries[path] = ("*" in fields, fields[-1].removesuffix("(realloc)"))
    return entries


def _check_files(image: Path, offset: int, planted: list[PlantedFile]) -> None:
    """Every live file is readable by icat with the planted hash; every deleted one is marked '*'."""
    assert planted
    listing = _fls(image, offset)
    for item in planted:
        assert item.path in listing, f"{item.path} not found by fls at offset {offset}"
        deleted, inode = listing[item.path]
        assert deleted is item.deleted, item.path
        if not item.deleted:
            data = _tsk("icat", "-o", offset // SECTOR, image, inode)
            assert (len(data), hashlib.sha256(data).hexdigest()) == (item.size, item.sha256), item.path


def _mmls(image: Path) -> set[tuple[int, int]]:
    """(start, length) in sectors of every allocated partition mmls reports."""
    found = set()
    for line in _tsk("mmls", image).decode().splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[0].endswith(":") and ":" in fields[1]:
            found.add((int(fields[2]), int(fields[4])))
    return found


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleImage:
    return build_sample_image(tmp_path_factory.mktemp("sample") / "disk.img")


def test_partitions_match_mmls(sample: SampleImage) -> None:
    assert sample.path.stat().st_size == sample.size
    assert [p[3] for p in sample.partitions] == ["fat", "ext4"]
    assert sample.partitions[0][1] == 1024 * 1024
    assert {(start // SECTOR, length // SECTOR) for _, start, length, _ in sample.partitions} <= _mmls(sample.path)


@pytest.mark.parametrize("number", [1, 2])
def test_planted_files_match_fls_and_icat(sample: SampleImage, number: int) -> None:
    offset = sample.partitions[number - 1][1]
    planted = [f for f in sample.files if f.partition == number]
    assert {f.path for f in planted if f.deleted} == set(DELETED)
    _check_files(sample.path, offset, planted)


def test_ext4_keeps_non_ascii_name(sample: SampleImage) -> None:
    assert any(f.fs_type == "ext4" and f.path == "images/fotografía.png" for f in sample.files)
    assert all(f.path.isascii() for f in sample.files if f.fs_type == "fat")


def test_volume_labels(sample: SampleImage) -> None:
    fat, ext4 = (_tsk("fsstat", "-o", start // SECTOR, sample.path).decode() for _, start, _, _ in sample.partitions)
    assert "EVIDENCE" in fat and "LINUXDATA" in ext4


def test_build_is_reproducible(sample: SampleImage, tmp_path: Path) -> None:
    again = build_sample_image(tmp_path / "again.img")
    assert again.files == sample.files
    assert hashlib.sha256(again.path.read_bytes()).digest() == hashlib.sha256(sample.path.read_bytes()).digest()


def test_ntfs_partition(tmp_path: Path) -> None:
    try:
        require_tools("mkntfs", "ntfscp")
    except SampleToolMissing as missing:
        pytest.skip(str(missing))
    image = build_sample_image(tmp_path / "ntfs.img", with_ntfs=True, seed=3)
    assert [p[3] for p in image.partitions] == ["fat", "ext4", "ntfs"]
    assert {(start // SECTOR, length // SECTOR) for _, start, length, _ in image.partitions} <= _mmls(image.path)
    for number, start, _, _ in image.partitions:
        _check_files(image.path, start, [f for f in image.files if f.partition == number])


def _small_tree() -> dict[str, bytes]:
    files = sample_files(7)
    keep = ("docs/readme.txt", "docs/private/passwords_backup.txt", "data/blob.bin", "notes/empty.txt",
            "images/old_screenshot.png", "a/b/c/deep_directory_name/Mixed Case Name.TXT")
    return {path: files.get(path, b"deep\n") for path in keep}


@pytest.mark.parametrize("builder", [build_fat_image, build_ext4_image])
def test_unpartitioned_builders(tmp_path: Path, builder: object) -> None:
    files = _small_tree()
    delete = ["docs/private/passwords_backup.txt", "images/old_screenshot.png"]
    fs = builder(tmp_path / "fs.img", files, delete=delete, size_mib=8)  # type: ignore[operator]
    assert fs.stat().st_size == 8 * 1024 * 1024
    fs_type = "fat" if builder is build_fat_image else "ext4"
    planted = [PlantedFile(0, fs_type, p, hashlib.sha256(d).hexdigest(), len(d), p in delete)
               for p, d in files.items()]
    _check_files(fs, 0, planted)


def test_builders_reject_unknown_deletions(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        build_fat_image(tmp_path / "f.img", {"a.txt": b"a"}, delete=["b.txt"])
    with pytest.raises(ValueError):
        build_ext4_image(tmp_path / "e.img", {"a.txt": b"a"}, delete=["b.txt"])


def test_require_tools_names_the_debian_package() -> None:
    with pytest.raises(SampleToolMissing) as caught:
        require_tools("sfdisk", "no-such-tool-xyz")
    assert caught.value.name == "no-such-tool-xyz" and "apt-get install" in str(caught.value)


def test_sample_files_deterministic_and_well_formed() -> None:
    files = sample_files(1)
    assert files == sample_files(1) and files != sample_files(2)
    assert set(DELETED) <= set(files) and files["notes/empty.txt"] == b""
    assert 290 * 1024 <= len(files["data/blob.bin"]) <= 310 * 1024
    png = files["images/logo.png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, kinds = 8, []
    while pos < len(png):  # every chunk CRC is right and IDAT inflates
        (length,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        body, crc = png[pos + 8:pos + 8 + length], png[pos + 8 + length:pos + 12 + length]
        assert struct.unpack(">I", crc)[0] == zlib.crc32(kind + body)
        if kind == b"IDAT":
            assert len(zlib.decompress(body)) == 16 * (1 + 16 * 3)
        kinds.append(kind)
        pos += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    bmp = files["images/chart.bmp"]
    assert bmp[:2] == b"BM" and struct.unpack("<I", bmp[2:6])[0] == len(bmp)
    for pdf in (files["docs/report.pdf"], files["notes/holiday.jpg"]):  # holiday.jpg is really a PDF
        assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
        xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
        assert pdf[xref:xref + 4] == b"xref"
    with zipfile.ZipFile(io.BytesIO(files["archive/backup.zip"])) as archive:
        assert archive.testzip() is None and "ledger.csv" in archive.namelist()
    assert json.loads(files["data/config.json"])["seed"] == 1
