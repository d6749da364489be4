"""PDF: ISO 32000-1:2008, section 7.5 (file structure) and 7.5.6 (incremental updates).

From "%PDF-1.x" the validator reads forward for "%%EOF" markers. A marker ends the
file when the "startxref" just before it gives an offset (from the header) that holds a
cross-reference table ("xref") or a cross-reference stream ("N G obj ... /XRef"), and
what follows the marker is not an incremental update (another object, "xref" or
comment). Without such a marker before the maximum size, another PDF header or the end
of the range, the object is reported partial up to the last "%%EOF" seen, or not at all.
"""
from __future__ import annotations

import re

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

_EOF = re.compile(rb"%%EOF(\r\n|\r|\n)?")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s*$")
_XREF_STREAM = re.compile(rb"^\d+\s+\d+\s+obj\b")
_UPDATE = re.compile(rb"^\s*(\d+\s+\d+\s+obj\b|xref\b|%(?!PDF-))")
CHUNK = MIB


class PdfCarver(Carver):
    name = "pdf"
    version = "1"
    extensions = ("pdf",)
    signatures = (b"%PDF-",)
    max_size = 512 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        head = reader.read_at(offset, 16)
        if not re.match(rb"%PDF-[12]\.\d", head):
            return None
        pos = offset + 8
        last_eof = None
        while pos < limit:
            data = reader.read_at(pos, min(CHUNK, limit - pos))
            if not data:
                break
            next_header = data.find(b"%PDF-")
            for match in _EOF.finditer(data):
                if 0 <= next_header < match.start():
                    break
                end = pos + match.end()
                last_eof = end
                if self._xref_ok(reader, offset, pos + match.start()) and not self._update_follows(reader, end, limit):
                    return Extent(end - offset)
            if next_header >= 0:
                break
            if len(data) < min(CHUNK, limit - pos) or pos + len(data) >= limit:
                break
            pos += len(data) - 16
        if last_eof is None:
            return None
        return truncated(last_eof - offset, "partial PDF: no %%EOF whose startxref points at a cross-reference "
                         "section (fragmented, damaged or cut off)")

    @staticmethod
    def _xref_ok(reader: Reader, start: int, eof_at: int) -> bool:
        tail = reader.read_at(max(start, eof_at - 64), eof_at - max(start, eof_at - 64))
        match = _STARTXREF.search(tail)
        if not match:
            return False
        where = start + int(match.group(1))
        if not start < where < eof_at:
            return False
        probe = reader.read_at(where, 64)
        if probe.startswith(b"xref"):
            return True
        if _XREF_STREAM.match(probe):
            return b"/XRef" in reader.read_at(where, 1024)
        return False

    @staticmethod
    def _update_follows(reader: Reader, end: int, limit: int) -> bool:
        return bool(_UPDATE.match(reader.read_at(end, min(64, max(limit - end, 0)))))
