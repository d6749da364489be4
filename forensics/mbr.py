"""Fallback for truncated images: the MBR's primary partition entries.

The Sleuth Kit (and so dfvfs) refuses a DOS partition table whose partitions run
past the end of the image, which is exactly what a truncated acquisition looks
like. The four primary entries are read here (layout: 16-byte entries at offset
446, signature 0x55AA at 510; see the "Master boot record" layout in the UEFI
specification, section 5.2.1) so that whatever survived can still be walked.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

SECTOR = 512
EXTENDED_TYPES = {0x05, 0x0F, 0x85}


@dataclass(frozen=True)
class MbrEntry:
    number: int          # 1..4
    type_code: int
    offset: int          # bytes
    size: int            # bytes, as the table states it


def read_primary_entries(boot_sector: bytes) -> list[MbrEntry]:
    if len(boot_sector) < SECTOR or boot_sector[510:512] != b"\x55\xaa":
        return []
    entries = []
    for index in range(4):
        raw = boot_sector[446 + 16 * index: 446 + 16 * (index + 1)]
        type_code = raw[4]
        start, count = struct.unpack("<II", raw[8:16])
        if type_code == 0 or count == 0 or type_code == 0xEE:
            continue
        entries.append(MbrEntry(index + 1, type_code, start * SECTOR, count * SECTOR))
    return entries


def truncated_partitions(boot_sector: bytes, media_size: int) -> list[MbrEntry] | None:
    """The primary entries, when the table is valid but runs past the media end."""
    entries = [e for e in read_primary_entries(boot_sector) if e.type_code not in EXTENDED_TYPES]
    if not entries or all(e.offset + e.size <= media_size for e in entries):
        return None
    if any(e.offset < SECTOR for e in entries):
        return None
    return entries
