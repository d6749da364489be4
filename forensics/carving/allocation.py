"""Unallocated space of a file system, as byte runs inside its volume.

The Sleuth Kit decides "unallocated" from each file system's own allocation map, and so
does this module, reading the same maps (pytsk3 has no block-walk binding):

* ext2/3/4 — the block bitmap of every block group, located through the group
  descriptors (Linux kernel documentation, "ext4 Data Structures and Algorithms":
  super block, block group descriptors incl. 64-bit and meta_bg layouts, bitmaps);
* FAT12/16/32 — a cluster is free when its FAT entry is 0 (Microsoft "FAT: General
  Overview of On-Disk Format" 1.03, sections 3-4); sectors after the last cluster are
  unallocated too, as TSK reports them;
* NTFS — the $Bitmap file (MFT entry 6), one bit per cluster, read through TSK.

``tests/forensics/carving`` checks the result against TSK's ``blkls``.
"""
from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from forensics.reader import ByteReader

_NOT_FF = re.compile(rb"[^\xff]")
_NOT_00 = re.compile(rb"[^\x00]")


@dataclass(frozen=True)
class Allocation:
    block_size: int
    fs_size: int                          # bytes the file system spans in its volume
    runs: tuple[tuple[int, int], ...]     # (byte offset in the volume, length), merged, in order


def zero_bit_runs(bitmap: bytes, nbits: int) -> Iterator[tuple[int, int]]:
    """(first bit, count) of every run of 0 bits, least significant bit first."""
    nbytes = (nbits + 7) // 8
    start = None
    i = 0
    while i < nbytes:
        byte = bitmap[i]
        if byte == 0xFF:
            if start is not None:
                yield start, i * 8 - start
                start = None
            match = _NOT_FF.search(bitmap, i, nbytes)
            i = match.start() if match else nbytes
            continue
        if byte == 0:
            if start is None:
                start = i * 8
            match = _NOT_00.search(bitmap, i, nbytes)
            i = match.start() if match else nbytes
            continue
        for bit in range(8):
            if byte >> bit & 1:
                if start is not None:
                    yield start, i * 8 + bit - start
                    start = None
            elif start is None:
                start = i * 8 + bit
        i += 1
    if start is not None and start < nbits:
        yield start, nbits - start


def merge(runs: Iterator[tuple[int, int]] | list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[list[int]] = []
    for offset, length in runs:
        if length <= 0:
            continue
        if merged and merged[-1][0] + merged[-1][1] == offset:
            merged[-1][1] += length
        else:
            merged.append([offset, length])
    return tuple((o, n) for o, n in merged)


def _read(reader: ByteReader, offset: int, size: int) -> bytes:
    parts, pos = [], offset
    while pos < offset + size:
        data = reader.read_at(pos, min(1 << 20, offset + size - pos))
        if not data:
            break
        parts.append(data)
        pos += len(data)
    return b"".join(parts)


# --- ext2/3/4 -------------------------------------------------------------------------------

def ext_allocation(reader: ByteReader) -> Allocation:
    sb = reader.read_at(1024, 1024)
    if len(sb) < 1024 or struct.unpack("<H", sb[56:58])[0] != 0xEF53:
        raise ValueError("no ext2/3/4 superblock")
    blocks_lo, _, _, _, first_data_block, log_block = struct.unpack("<6I", sb[4:28])
    (per_group,) = struct.unpack("<I", sb[32:36])
    compat, incompat, ro_compat = struct.unpack("<III", sb[92:104])
    wide = bool(incompat & 0x80)
    block_size = 1024 << log_block
    blocks = blocks_lo | (struct.unpack("<I", sb[0x150:0x154])[0] << 32 if wide else 0)
    desc_size = struct.unpack("<H", sb[0xFE:0x100])[0] if wide else 32
    desc_size = desc_size if desc_size >= 32 else 32
    groups = -(-(blocks - first_data_block) // per_group)
    per_block = block_size // desc_size
    meta_bg = bool(incompat & 0x10)
    (first_meta_bg,) = struct.unpack("<I", sb[0x104:0x108])
    backups = struct.unpack("<II", sb[0x24C:0x254])

    def has_super(group: int) -> bool:
        if compat & 0x200:                   # sparse_super2
            return group == 0 or group in backups
        if not ro_compat & 0x1 or group <= 1:
            return True
        for base in (3, 5, 7):
            n = base
            while n < group:
                n *= base
            if n == group:
                return True
        return False

    def descriptor_block(group: int) -> int:
        if meta_bg and group // per_block >= first_meta_bg:
            first = (group // per_block) * per_block
            return first_data_block + first * per_group + (1 if has_super(first) else 0)
        return first_data_block + 1 + group // per_block

    cache: dict[int, bytes] = {}
    runs = []
    for group in range(groups):
        block = descriptor_block(group)
        if block not in cache:
            cache.clear()
            cache[block] = reader.read_at(block * block_size, block_size)
        desc = cache[block][(group % per_block) * desc_size:(group % per_block + 1) * desc_size]
        bitmap_at = struct.unpack("<I", desc[0:4])[0]
        if wide and desc_size >= 64:
            bitmap_at |= struct.unpack("<I", desc[0x20:0x24])[0] << 32
        first = first_data_block + group * per_group
        nbits = min(per_group, blocks - first)
        bitmap = reader.read_at(bitmap_at * block_size, (nbits + 7) // 8)
        for bit, count in zero_bit_runs(bitmap, nbits):
            runs.append(((first + bit) * block_size, count * block_size))
    return Allocation(block_size, blocks * block_size, merge(runs))


# --- FAT12/16/32 ----------------------------------------------------------------------------

def fat_allocation(reader: ByteReader) -> Allocation:
    bpb = reader.read_at(0, 64)
    if len(bpb) < 64:
        raise ValueError("no FAT boot sector")
    bytes_per_sector, per_cluster, reserved, fats, root_entries, total16 = struct.unpack("<HBHBHH", bpb[11:21])
    fat16_size, = struct.unpack("<H", bpb[22:24])
    total32, fat32_size = struct.unpack("<II", bpb[32:40])
    if bytes_per_sector not in (512, 1024, 2048, 4096) or per_cluster == 0 or fats == 0:
        raise ValueError("invalid FAT BIOS parameter block")
    fat_size = fat16_size or fat32_size
    total = total16 or total32
    root_sectors = (root_entries * 32 + bytes_per_sector - 1) // bytes_per_sector
    first_data = reserved + fats * fat_size + root_sectors
    clusters = (total - first_data) // per_cluster
    table = _read(reader, reserved * bytes_per_sector, fat_size * bytes_per_sector)
    if clusters < 4085:
        def entry(n: int) -> int:
            value = table[n + n // 2] | table[n + n // 2 + 1] << 8
            return value >> 4 if n & 1 else value & 0xFFF
        values = [entry(n) for n in range(2, clusters + 2)]
    elif clusters < 65525:
        values = array("H", table[:(clusters + 2) * 2])[2:].tolist()
    else:
        values = [v & 0x0FFFFFFF for v in array("I", table[:(clusters + 2) * 4])[2:]]
    cluster_bytes = per_cluster * bytes_per_sector
    data_at = first_data * bytes_per_sector
    runs = []
    start = None
    for index, value in enumerate(values):
        if value == 0:
            if start is None:
                start = index
        elif start is not None:
            runs.append((data_at + start * cluster_bytes, (index - start) * cluster_bytes))
            start = None
    if start is not None:
        runs.append((data_at + start * cluster_bytes, (len(values) - start) * cluster_bytes))
    tail = data_at + clusters * cluster_bytes
    runs.append((tail, total * bytes_per_sector - tail))
    return Allocation(bytes_per_sector, total * bytes_per_sector, merge(runs))


# --- NTFS -----------------------------------------------------------------------------------

def ntfs_allocation(fs) -> Allocation:
    """``fs`` is a pytsk3 FS_Info of the NTFS volume."""
    cluster = int(fs.info.block_size)
    clusters = int(fs.info.block_count)
    bitmap_file = fs.open_meta(inode=6)
    size = int(bitmap_file.info.meta.size)
    bitmap = b"".join(bitmap_file.read_random(pos, min(1 << 20, size - pos)) for pos in range(0, size, 1 << 20))
    runs = [(bit * cluster, count * cluster) for bit, count in zero_bit_runs(bitmap, min(clusters, len(bitmap) * 8))]
    return Allocation(cluster, clusters * cluster, merge(runs))
