"""BMP: Microsoft Windows bitmap, BITMAPFILEHEADER + BITMAPCOREHEADER / BITMAPINFOHEADER /
BITMAPV4HEADER / BITMAPV5HEADER (Win32 GDI documentation, "Bitmap Storage").

BMP has no footer: the object is bfSize bytes. The header is checked for consistency
before that size is believed: reserved words zero, a known DIB header size, one plane, a
valid bit depth and compression, the pixel array inside the file, and, for uncompressed
bitmaps, bfSize large enough for |height| rows of ((width * bpp + 31) // 32) * 4 bytes.
Fragmentation cannot be detected inside the pixel array.
"""
from __future__ import annotations

import struct

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
DEPTHS = frozenset({1, 2, 4, 8, 16, 24, 32})


class BmpCarver(Carver):
    name = "bmp"
    version = "1"
    extensions = ("bmp",)
    # "BM", bfSize, two zero reserved words, bfOffBits < 64 KiB, a known DIB header size
    pattern = rb"BM[\x00-\xff]{4}\x00\x00\x00\x00[\x00-\xff]{2}\x00\x00[\x0c\x28\x34\x38\x40\x6c\x7c]\x00\x00\x00"
    max_size = 256 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        head = reader.read_at(offset, 14 + 40)
        if len(head) < 26:
            return None
        file_size, _, off_bits, dib = struct.unpack("<IIII", head[2:18])
        if dib not in DIB_SIZES or file_size > self.max_size or not 14 + dib <= off_bits < file_size:
            return None
        if dib == 12:
            width, height, planes, bpp = struct.unpack("<HHHH", head[18:26])
            compression = 0
        else:
            if len(head) < 54:
                return None
            width, height, planes, bpp, compression, image_size = struct.unpack("<iiHHII", head[18:38])
            if width <= 0 or height == 0 or compression > 6:
                return None
        if planes != 1 or bpp not in DEPTHS:
            return None
        if compression in (0, 3, 6):
            row = ((width * bpp + 31) // 32) * 4
            if off_bits + row * abs(height) > file_size:
                return None
        if offset + file_size > limit:
            return truncated(limit - offset, "partial BMP: bfSize runs past the end of the range")
        return Extent(file_size)
