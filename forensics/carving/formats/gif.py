"""GIF: CompuServe "Graphics Interchange Format Version 89a" (1990), sections 17-27.

Header and Logical Screen Descriptor (with an optional Global Color Table), then a
sequence of extension blocks (0x21, label, data sub-blocks) and images (0x2C
descriptor, optional Local Color Table, LZW minimum code size, data sub-blocks) until
the trailer 0x3B. Sub-blocks are length-prefixed, so the walk finds the exact end.
"""
from __future__ import annotations

import struct

from forensics.carving.formats.base import MIB, Carver, Cursor, Extent, Reader, truncated


class GifCarver(Carver):
    name = "gif"
    version = "1"
    extensions = ("gif",)
    signatures = (b"GIF87a", b"GIF89a")
    max_size = 64 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        cur = Cursor(reader, offset + 6, limit)
        screen = cur.take(7)
        if screen is None:
            return None
        width, height, packed = struct.unpack("<HHB", screen[:5])
        if width == 0 or height == 0:
            return None
        if packed & 0x80:
            cur.skip(3 << ((packed & 7) + 1))
        images = 0
        while True:
            start = cur.pos
            block = cur.u8()
            if block is None:
                return _cut(offset, start, images, "the object runs past the end of the range")
            if block == 0x3B:
                return Extent(cur.pos - offset) if images else None
            if block == 0x21:
                if cur.u8() is None:
                    return _cut(offset, start, images, "truncated extension")
            elif block == 0x2C:
                desc = cur.take(9)
                if desc is None:
                    return _cut(offset, start, images, "truncated image descriptor")
                if desc[8] & 0x80:
                    cur.skip(3 << ((desc[8] & 7) + 1))
                code_size = cur.u8()
                if code_size is None or not 1 <= code_size <= 12:
                    return _cut(offset, start, images, "bad LZW minimum code size")
                images += 1
            else:
                return _cut(offset, start, images, f"unknown block 0x{block:02X} at offset {start - offset}")
            if not _sub_blocks(cur):
                return _cut(offset, start, images, "data sub-blocks run past the end of the range")


def _sub_blocks(cur: Cursor) -> bool:
    while True:
        size = cur.u8()
        if size is None:
            return False
        if size == 0:
            return True
        if not cur.skip(size):
            return False


def _cut(offset: int, pos: int, images: int, why: str) -> Extent | None:
    if not images:
        return None
    return truncated(pos - offset, f"partial GIF: {why}")
