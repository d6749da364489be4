"""TIFF: "TIFF Revision 6.0" (Adobe, 1992), section 2 (structure), with the Exif 2.3 and
GPS private IFDs (tags 34665, 34853) and SubIFDs (330, Adobe TIFF Technical Note 1).

A TIFF has no footer and no length field: the object ends at the furthest byte that any
IFD, out-of-line tag value, strip, tile or JPEG-interchange stream refers to. The walk
follows the IFD chain (and the private IFDs) with loop and count bounds, requires IFD
entries in ascending tag order (6.0, section 2) and the baseline ImageWidth, ImageLength
and strip/tile offsets in the first IFD. BigTIFF (version 43) is not carved.
"""
from __future__ import annotations

import struct

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
OFFSET_TAGS = {273: 279, 324: 325, 513: 514}      # StripOffsets, TileOffsets, JPEGInterchangeFormat
IFD_TAGS = frozenset({330, 34665, 34853, 40965})  # SubIFDs, Exif, GPS, Interoperability
MAX_IFDS = 256
MAX_ENTRIES = 1024


class TiffCarver(Carver):
    name = "tiff"
    version = "1"
    extensions = ("tif",)
    signatures = (b"II*\x00", b"MM\x00*")
    max_size = 512 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        head = reader.read_at(offset, 8)
        if len(head) < 8:
            return None
        endian = "<" if head[:2] == b"II" else ">"
        first = struct.unpack(endian + "I", head[4:8])[0]
        if first < 8 or first > self.max_size:
            return None
        walker = _Walker(reader, offset, endian, min(limit, offset + self.max_size))
        queue, seen = [first], set()
        is_first = True
        while queue:
            ifd = queue.pop(0)
            if ifd in seen or len(seen) >= MAX_IFDS:
                continue
            seen.add(ifd)
            result = walker.ifd(ifd, require_image=is_first)
            if result is None:
                if is_first:
                    return None
                return truncated(walker.end, f"partial TIFF: IFD at offset {ifd} is unreadable or invalid")
            is_first = False
            queue.extend(result)
        if walker.past_limit:
            return truncated(min(walker.end, limit - offset), "partial TIFF: data referenced past the end of the range")
        return Extent(walker.end)


class _Walker:
    def __init__(self, reader: Reader, base: int, endian: str, limit: int) -> None:
        self.reader, self.base, self.e, self.limit = reader, base, endian, limit
        self.end = 8
        self.past_limit = False

    def _cover(self, rel: int, size: int) -> None:
        self.end = max(self.end, rel + size)
        if self.base + rel + size > self.limit:
            self.past_limit = True

    def _values(self, kind: int, count: int, raw: bytes) -> list[int]:
        size = TYPE_SIZES[kind] * count
        if size > 4:
            if count > 1 << 20:
                return []
            raw = self.reader.read_at(self.base + struct.unpack(self.e + "I", raw)[0], size)
            if len(raw) < size:
                return []
        code = {3: "H", 4: "I", 13: "I"}.get(kind)
        if code is None:
            return []
        return list(struct.unpack(f"{self.e}{count}{code}", raw[:count * struct.calcsize(code)]))

    def ifd(self, rel: int, require_image: bool) -> list[int] | None:
        head = self.reader.read_at(self.base + rel, 2)
        if len(head) < 2:
            return None
        (count,) = struct.unpack(self.e + "H", head)
        if not 1 <= count <= MAX_ENTRIES:
            return None
        body = self.reader.read_at(self.base + rel + 2, count * 12 + 4)
        if len(body) < count * 12 + 4:
            return None
        self._cover(rel, 2 + count * 12 + 4)
        tags: dict[int, tuple[int, int, bytes]] = {}
        previous = -1
        for index in range(count):
            tag, kind, n, raw = struct.unpack(self.e + "HHI4s", body[index * 12:index * 12 + 12])
            if tag <= previous or kind not in TYPE_SIZES:
                return None
            previous = tag
            size = TYPE_SIZES[kind] * n
            if size > 4:
                where = struct.unpack(self.e + "I", raw)[0]
                if where < 8 or size > MIB * 64:
                    return None
                self._cover(where, size)
            tags[tag] = (kind, n, raw)
        if require_image and not (256 in tags and 257 in tags and (273 in tags or 324 in tags)):
            return None
        for offsets_tag, counts_tag in OFFSET_TAGS.items():
            if offsets_tag in tags and counts_tag in tags:
                starts = self._values(*tags[offsets_tag])
                sizes = self._values(*tags[counts_tag])
                for start, size in zip(starts, sizes):
                    self._cover(start, size)
        following = [v for tag in IFD_TAGS & tags.keys() for v in self._values(*tags[tag])]
        (next_ifd,) = struct.unpack(self.e + "I", body[count * 12:count * 12 + 4])
        if next_ifd:
            following.append(next_ifd)
        return [v for v in following if 8 <= v < self.limit - self.base]
