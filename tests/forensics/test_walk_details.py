"""Walk details an examiner trips over: empty exFAT directories are not "damaged", and where dfvfs walks
NTFS (TSK cannot) rows carry MFT entry numbers, named streams their sizes, and metadata files without an
unnamed $DATA are not reported as unreadable content."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from forensics.models import FileRecord, WalkWarning
from forensics.hashing import Digester
from forensics.volumes import scan_volumes
from forensics.walk import _walk_dfvfs, walk_file_system
from tests.conftest import ntfs_mounted, require_tools


def _image(tmp_path: Path, mkfs: list[str], mib: int) -> Path:
    image = tmp_path / "fs.img"
    with open(image, "wb") as handle:
        handle.truncate(mib << 20)
    subprocess.run([*mkfs, str(image)], check=True, capture_output=True)
    return image


def _exfat_checksum(data: bytes, skip: tuple[int, ...] = ()) -> int:
    value = 0
    for index, byte in enumerate(data):
        if index not in skip:
            value = (((value & 1) << 15) | (value >> 1)) + byte & 0xFFFF
    return value


def add_empty_exfat_directory(image: Path, name: str) -> None:
    """Writes a directory entry set (File 0x85, Stream Extension 0xC0, File Name 0xC1) for an empty
    directory into the root directory of a fresh mkfs.exfat volume and gives it a zeroed cluster marked
    in the allocation bitmap (no FAT chain), as an exFAT driver does (exFAT specification, 7.4–7.7)."""
    import struct

    data = bytearray(image.read_bytes())
    sector = 1 << data[0x6C]
    cluster = sector << data[0x6D]
    heap = struct.unpack_from("<I", data, 0x58)[0] * sector
    root = heap + (struct.unpack_from("<I", data, 0x60)[0] - 2) * cluster
    entries = [root + i for i in range(0, cluster, 32)]
    bitmap = next(e for e in entries if data[e] == 0x81)
    bitmap_at = heap + (struct.unpack_from("<I", data, bitmap + 20)[0] - 2) * cluster
    free = next(i for i in range(struct.unpack_from("<I", data, 0x5C)[0])
                if not data[bitmap_at + i // 8] >> (i % 8) & 1)
    data[bitmap_at + free // 8] |= 1 << (free % 8)
    new_cluster = free + 2
    start = heap + (new_cluster - 2) * cluster
    data[start:start + cluster] = bytes(cluster)
    utf16 = name.encode("utf-16-le")
    name_hash = _exfat_checksum(name.upper().encode("utf-16-le"))
    file_entry = bytearray(32)
    file_entry[0], file_entry[1] = 0x85, 2
    struct.pack_into("<H", file_entry, 4, 0x10)                                   # directory
    stamp = (46 << 25) | (1 << 21) | (1 << 16)                                    # 2026-01-01 00:00:00
    struct.pack_into("<III", file_entry, 8, stamp, stamp, stamp)
    stream = bytearray(32)
    stream[0], stream[1], stream[3] = 0xC0, 0x03, len(name)                        # allocation possible, no FAT chain
    struct.pack_into("<H", stream, 4, name_hash)
    struct.pack_into("<Q", stream, 8, cluster)
    struct.pack_into("<IQ", stream, 20, new_cluster, cluster)
    file_name = bytearray(32)
    file_name[0] = 0xC1
    file_name[2:2 + len(utf16)] = utf16
    entry_set = bytes(file_entry + stream + file_name)
    struct.pack_into("<H", file_entry, 2, _exfat_checksum(entry_set, skip=(2, 3)))
    at = next(e for e in entries if data[e] == 0x00)
    data[at:at + 96] = bytes(file_entry + stream + file_name)
    image.write_bytes(bytes(data))


def test_an_empty_exfat_directory_is_not_damaged(tmp_path):
    """exFAT directories hold no '.'/'..': an empty one lists nothing and that is normal (ext and FAT
    directories with nothing at all are still reported: their '.' and '..' are missing)."""
    require_tools("mkfs.exfat", "fls")
    image = _image(tmp_path, ["mkfs.exfat"], 32)
    add_empty_exfat_directory(image, "empty")
    add_empty_exfat_directory(image, "also empty")
    listing = subprocess.run(["fls", "-r", "-p", str(image)], capture_output=True, text=True, check=True).stdout
    assert "d/d" in listing and "\tempty" in listing                          # TSK reads the built entries
    (volume,) = scan_volumes(str(image))
    records = list(walk_file_system(volume.locator))
    paths = {r.path for r in records if isinstance(r, FileRecord)}
    assert {"/empty", "/also empty"} <= paths
    assert [r.message for r in records if isinstance(r, WalkWarning)] == []


@pytest.fixture
def ntfs_with_streams(tmp_path):
    with ntfs_mounted(tmp_path) as (image, mount):
        (mount / "dir").mkdir()
        (mount / "dir" / "plain.txt").write_bytes(b"plain\n")
        (mount / "carrier.txt").write_bytes(b"visible\n")
        with open(f"{mount}/carrier.txt:hidden", "wb") as handle:
            handle.write(b"alternate data stream content\n")
    if shutil.which("fls") is None:
        pytest.skip("needs fls")
    return image


def test_dfvfs_walk_of_ntfs_carries_mft_entries_stream_sizes_and_content(ntfs_with_streams):
    (volume,) = scan_volumes(str(ntfs_with_streams))
    by_tsk = {r.path: r for r in walk_file_system(volume.locator) if isinstance(r, FileRecord)}
    by_dfvfs = {r.path: r for r in _walk_dfvfs(volume.locator) if isinstance(r, FileRecord)}
    assert {"/dir/plain.txt", "/carrier.txt", "/carrier.txt:hidden", "/$MFT"} <= set(by_dfvfs)
    for path in ("/dir/plain.txt", "/carrier.txt", "/carrier.txt:hidden", "/$MFT", "/$Secure:$SDS"):
        assert by_dfvfs[path].inode == by_tsk[path].inode, path           # the MFT entry number, as fls
    assert by_dfvfs["/$MFT"].inode == 0
    hidden = by_dfvfs["/carrier.txt:hidden"]
    assert hidden.size == len(b"alternate data stream content\n") == by_tsk["/carrier.txt:hidden"].size
    content = Digester().digest(hidden.locator, hidden.path)
    assert content.sha256 == hashlib.sha256(b"alternate data stream content\n").hexdigest()
    # $Secure's data is its named $SDS stream: the entry itself has no content to read, the stream has
    assert by_dfvfs["/$Secure"].has_content is False and by_dfvfs["/$Secure:$SDS"].has_content
    digester = Digester()
    for record in by_dfvfs.values():                    # nothing that claims content fails to read
        if record.has_content:
            assert digester.digest(record.locator, record.path).size == (record.size or 0), record.path
