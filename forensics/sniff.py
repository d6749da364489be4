"""What the first sectors of a file say it is, for the message when dfvfs recognizes nothing.

dfvfs either finds a storage-media format, volume system or file system, or says nothing; an
examiner handed "not a disk image" wants to know what *was* there: a FAT32 boot sector claiming
1 TB in a 128 MiB file is a damaged or crafted image, not a text file. ``describe`` reads the
first 64 KiB and names the structures it finds (MBR, GPT, FAT12/16/32, exFAT, NTFS, ext2/3/4),
with the size each claims against the file's size. It only reads; it decides nothing.
"""
from __future__ import annotations

import os
import struct

SECTOR = 512


def _size(n: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _claim(kind: str, claimed: int, actual: int, extra: str = "") -> str:
    verdict = " (impossible: larger than the file)" if claimed > actual else ""
    return f"{kind} claiming {_size(claimed)}{extra} in a {_size(actual)} file{verdict}"


def _boot_sector(head: bytes, actual: int) -> str | None:
    if len(head) < SECTOR or head[510:512] != b"\x55\xaa":
        return None
    oem = head[3:11]
    if oem == b"NTFS    ":
        per_sector = struct.unpack_from("<H", head, 11)[0] or SECTOR
        sectors = struct.unpack_from("<Q", head, 40)[0]
        return _claim("an NTFS boot sector", sectors * per_sector, actual)
    if oem == b"EXFAT   ":
        shift = head[108]
        sectors = struct.unpack_from("<Q", head, 72)[0]
        return _claim("an exFAT boot sector", sectors << shift, actual)
    per_sector = struct.unpack_from("<H", head, 11)[0]
    if per_sector in (512, 1024, 2048, 4096) and head[13] in (1, 2, 4, 8, 16, 32, 64, 128):
        total16, total32 = struct.unpack_from("<H", head, 19)[0], struct.unpack_from("<I", head, 32)[0]
        sectors = total16 or total32
        if head[82:90] == b"FAT32   " or (struct.unpack_from("<H", head, 22)[0] == 0 and total32):
            kind = "a FAT32 boot sector"
        elif head[54:59] in (b"FAT12", b"FAT16", b"FAT  "):
            kind = f"a {head[54:59].decode().strip()} boot sector"
        else:
            kind = None
        if kind and sectors:
            return _claim(kind, sectors * per_sector, actual, f" ({sectors:,} sectors of {per_sector} bytes)")
    return None


def _mbr(head: bytes, actual: int) -> str | None:
    if len(head) < SECTOR or head[510:512] != b"\x55\xaa":
        return None
    parts, beyond = [], 0
    for index in range(4):
        entry = head[446 + 16 * index:462 + 16 * index]
        kind, start, count = entry[4], *struct.unpack_from("<II", entry, 8)
        if kind == 0 or count == 0:
            continue
        end = (start + count) * SECTOR
        parts.append(f"type 0x{kind:02x} at sector {start:,}, {_size(count * SECTOR)}")
        beyond += end > actual
    if not parts:
        return "an MBR signature with no partition entries"
    tail = f"; {beyond} of them past the end of the file" if beyond else ""
    return f"an MBR with {len(parts)} partition entr{'y' if len(parts) == 1 else 'ies'} ({'; '.join(parts)}){tail}"


def describe(path: str) -> str | None:
    """One sentence naming the structures found at the start of the file, or None."""
    try:
        actual = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    found = []
    boot = _boot_sector(head, actual)
    if boot:
        found.append(boot)
    elif head[510:512] == b"\x55\xaa":
        mbr = _mbr(head, actual)
        if mbr:
            found.append(mbr)
    if head[512:520] == b"EFI PART":
        found.append("a GPT header at sector 1")
    if len(head) >= 1024 + 64 and head[1024 + 56:1024 + 58] == b"\x53\xef":
        blocks = struct.unpack_from("<I", head, 1024 + 4)[0]
        block_size = 1024 << struct.unpack_from("<I", head, 1024 + 24)[0]
        found.append(_claim("an ext2/3/4 superblock", blocks * block_size, actual))
    if not found:
        return None
    return "; ".join(found)
