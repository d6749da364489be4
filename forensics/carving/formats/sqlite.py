"""SQLite 3 database: "Database File Format" (sqlite.org/fileformat2.html), section 1.3.

The 100-byte header gives the page size (a power of two from 512 to 65536; 1 means
65536), and the in-header database size in pages, which is valid when the
"version-valid-for" number equals the change counter (1.3.7; written by SQLite 3.7.0
and later). The fixed bytes (payload fractions 64/32/32, read/write versions 1 or 2,
schema format 1-4, text encoding 1-3) and the b-tree page type of page 1 are checked.
The object is page size x page count bytes. Older files without a valid in-header size
are not carved (their size is unknown).
"""
from __future__ import annotations

import struct

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated


class SqliteCarver(Carver):
    name = "sqlite"
    version = "1"
    extensions = ("sqlite",)
    signatures = (b"SQLite format 3\x00",)
    max_size = 4096 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        head = reader.read_at(offset, 101)
        if len(head) < 101:
            return None
        page_size = struct.unpack(">H", head[16:18])[0]
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512 or page_size & (page_size - 1):
            return None
        if head[18] not in (1, 2) or head[19] not in (1, 2) or head[21:24] != b"\x40\x20\x20":
            return None
        change_counter, pages = struct.unpack(">II", head[24:32])
        schema_format, encoding = struct.unpack(">I", head[44:48])[0], struct.unpack(">I", head[56:60])[0]
        valid_for = struct.unpack(">I", head[92:96])[0]
        if schema_format not in (0, 1, 2, 3, 4) or encoding not in (0, 1, 2, 3):
            return None
        if head[100] not in (0x05, 0x0D):            # page 1 is a table b-tree page (interior or leaf)
            return None
        if pages == 0 or valid_for != change_counter:
            return None
        size = pages * page_size
        if size > self.max_size:
            return None
        if offset + size > limit:
            return truncated(limit - offset, f"partial SQLite: {pages} pages of {page_size} run past the end of the range")
        return Extent(size)
