"""JPEG: ITU-T T.81 | ISO/IEC 10918-1 Annex B (interchange format), with JFIF 1.02 and
Exif 2.3 APPn segments.

The validator walks marker segments by their lengths (so an Exif thumbnail inside APP1,
with its own SOI/EOI, is stepped over rather than ending the outer image), then the
entropy-coded data of each scan up to the next marker (B.1.1.5: 0xFF is stuffed with
0x00 and only RSTm may appear inside a scan), until EOI. A scan that runs into a marker
that cannot follow a scan, restart markers out of sequence, or 1 KiB of zero bytes
(which no Huffman-coded scan produces) means the next bytes belong to something else:
the object is reported as partial up to that point (a fragmented or overwritten file).
"""
from __future__ import annotations

import re
import struct

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
AFTER_SCAN = frozenset({0xC4, 0xCC, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xFE} | set(range(0xE0, 0xF0)))
"""Markers B.2.4 allows between scans (tables/misc, DNL) or at the end (EOI)."""
_MARKER = re.compile(rb"\xff[^\x00\xff]")
_ZEROS = b"\x00" * 1024
CHUNK = MIB


class JpegCarver(Carver):
    name = "jpeg"
    version = "1"
    extensions = ("jpg",)
    signatures = (b"\xff\xd8\xff",)
    max_size = 256 * MIB
    contains = frozenset({"tiff"})          # the Exif APP1 block is a TIFF structure, not a file

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        pos = offset + 2
        components = 0              # Nf of the frame header, 0 before SOF
        sequential = False
        seen_sos = False
        whole_scan_done = False     # a sequential scan covered every component: only EOI may follow
        while True:
            head = reader.read_at(pos, 4)
            if len(head) < 2:
                return _cut(offset, pos, seen_sos, "the object runs past the end of the range before EOI")
            if head[0] != 0xFF:
                return _cut(offset, pos, seen_sos, f"no marker at offset {pos - offset}")
            marker = head[1]
            if marker == 0xFF:               # fill byte before a marker (B.1.1.2)
                pos += 1
                continue
            if marker == 0xD9:
                if not (components and seen_sos):
                    return None
                return Extent(pos + 2 - offset)
            if whole_scan_done and marker != 0xDC:
                return _cut(offset, pos, seen_sos, f"marker 0xFF{marker:02X} after the last scan of a sequential "
                            "image, where EOI belongs (fragment boundary)")
            if marker in (0x00, 0xD8) or 0xD0 <= marker <= 0xD7 or marker == 0x01:
                return _cut(offset, pos, seen_sos, f"marker 0xFF{marker:02X} out of place")
            if len(head) < 4:
                return _cut(offset, pos, seen_sos, "the object runs past the end of the range")
            (length,) = struct.unpack(">H", head[2:4])
            if length < 2 or pos + 2 + length > limit:
                return _cut(offset, pos, seen_sos, f"segment 0xFF{marker:02X} is too short or runs past the range")
            if marker in SOF or marker in (0xC4, 0xDA, 0xDB):
                body = reader.read_at(pos + 4, length - 2)
                problem = _check_segment(marker, body, components)
                if problem:
                    return _cut(offset, pos, seen_sos, problem)
                if marker in SOF:
                    components, sequential = body[5], marker in (0xC0, 0xC1)
            pos += 2 + length
            if marker == 0xDA:
                if not components:
                    return None
                seen_sos = True
                whole_scan_done = sequential and body[0] == components
                pos, problem = _scan_entropy(reader, pos, limit)
                if problem:
                    return truncated(pos - offset, problem)


def _check_segment(marker: int, body: bytes, components: int) -> str:
    """Structure of SOF (B.2.2), SOS (B.2.3), DHT (B.2.4.2) and DQT (B.2.4.1) segments."""
    name = f"0xFF{marker:02X}"
    if marker == 0xDA:
        count = body[0] if body else 0
        if not 1 <= count <= 4 or len(body) != 4 + 2 * count or count > max(components, 1):
            return f"malformed SOS segment ({name})"
    elif marker == 0xC4:
        at = 0
        while at < len(body):
            if at + 17 > len(body) or body[at] & 0xEC:
                return f"malformed DHT segment ({name})"
            at += 17 + sum(body[at + 1:at + 17])
        if at != len(body):
            return f"malformed DHT segment ({name})"
    elif marker == 0xDB:
        at = 0
        while at < len(body):
            precision = body[at] >> 4
            if precision > 1 or body[at] & 0x0F > 3:
                return f"malformed DQT segment ({name})"
            at += 65 if precision == 0 else 129
        if at != len(body):
            return f"malformed DQT segment ({name})"
    else:
        if len(body) < 6 or not 1 <= body[5] <= 4 or len(body) != 6 + 3 * body[5]:
            return f"malformed frame header ({name})"
    return ""


def _cut(offset: int, pos: int, seen_sos: bool, why: str) -> Extent | None:
    """Before any scan data there is no image worth keeping; after it, a partial one."""
    if not seen_sos:
        return None
    return truncated(pos - offset, f"partial JPEG: {why}")


def _scan_entropy(reader: Reader, pos: int, limit: int) -> tuple[int, str]:
    """(offset of the marker ending the scan, "") or (where it went wrong, why)."""
    expected_rst = 0
    start = pos
    while pos < limit:
        data = reader.read_at(pos, min(CHUNK, limit - pos))
        if len(data) < 2:
            pos += len(data)
            break
        zeros = data.find(_ZEROS)
        for match in _MARKER.finditer(data, 0, zeros if zeros >= 0 else len(data)):
            at = match.start()
            marker = match.group()[1]
            if 0xD0 <= marker <= 0xD7:
                if marker - 0xD0 != expected_rst:
                    return pos + at, (f"partial JPEG: restart marker RST{marker - 0xD0} where RST{expected_rst} "
                                      f"belongs, {pos + at - start} bytes into a scan (fragment boundary)")
                expected_rst = (expected_rst + 1) % 8
                continue
            if marker in AFTER_SCAN:
                return pos + at, ""
            return pos + at, f"partial JPEG: marker 0xFF{marker:02X} inside scan data (fragment boundary)"
        if zeros >= 0:
            return pos + zeros, "partial JPEG: scan data runs into zero bytes (fragmented or overwritten)"
        if len(data) < min(CHUNK, limit - pos):
            pos += len(data)
            break
        pos += len(data) - 1                    # keep a trailing 0xFF for the next chunk
    return min(pos, limit), "partial JPEG: scan data runs past the end of the range without EOI"
