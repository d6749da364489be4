"""PNG: ISO/IEC 15948:2004 / W3C PNG (Second Edition), section 5 (datastream structure).

After the 8-byte signature come chunks of length (4, big-endian, < 2^31), type (four
ASCII letters), data and a CRC-32 of type + data. The first chunk must be IHDR (13
bytes); the object ends after IEND. Every CRC is checked: a mismatch after some good
chunks is where the file stops being itself (fragment boundary or overwrite), reported
as a partial object ending at the last good chunk.
"""
from __future__ import annotations

import struct
import zlib

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_type(kind: bytes) -> bool:
    return len(kind) == 4 and all(65 <= c <= 90 or 97 <= c <= 122 for c in kind)


class PngCarver(Carver):
    name = "png"
    version = "1"
    extensions = ("png",)
    signatures = (SIGNATURE,)
    max_size = 256 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        pos = offset + 8
        chunks = 0
        while True:
            head = reader.read_at(pos, 8)
            if len(head) < 8:
                return _cut(offset, pos, chunks, "the object runs past the end of the range before IEND")
            length, kind = struct.unpack(">I4s", head)
            if length >= 1 << 31 or not _is_type(kind):
                return _cut(offset, pos, chunks, f"no valid chunk header at offset {pos - offset}")
            if chunks == 0 and (kind != b"IHDR" or length != 13):
                return None
            end = pos + 12 + length
            if end > limit:
                return _cut(offset, pos, chunks, f"chunk {kind.decode()} runs past the end of the range")
            crc = zlib.crc32(kind)
            at, remaining = pos + 8, length
            while remaining:
                data = reader.read_at(at, min(MIB, remaining))
                if not data:
                    return _cut(offset, pos, chunks, "unreadable chunk data")
                crc = zlib.crc32(data, crc)
                at += len(data)
                remaining -= len(data)
            stored = reader.read_at(at, 4)
            if len(stored) < 4 or struct.unpack(">I", stored)[0] != crc:
                return _cut(offset, pos, chunks, f"CRC mismatch in chunk {kind.decode()} at offset "
                            f"{pos - offset} (fragment boundary or overwritten)")
            chunks += 1
            pos = end
            if kind == b"IEND":
                return Extent(pos - offset)


def _cut(offset: int, pos: int, chunks: int, why: str) -> Extent | None:
    if chunks < 2:                      # IHDR alone is no image
        return None
    return truncated(pos - offset, f"partial PNG: {why}")
