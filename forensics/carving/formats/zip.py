"""ZIP and the formats built on it: PKWARE APPNOTE.TXT 6.3.10, section 4.3 (local file
headers, data descriptors, central directory, ZIP64 end records, end of central
directory); OOXML (ECMA-376 Part 2, Open Packaging Conventions), ODF 1.2 Part 3 section 3
("mimetype" first and stored), JAR (META-INF/MANIFEST.MF), APK (AndroidManifest.xml +
classes.dex), EPUB (OCF 3.2 mimetype).

The validator walks every local header and its data (a deflated member with a data
descriptor is measured by inflating it), checks each stored or deflated member's CRC-32,
then walks the central directory and requires the end record to agree with it (entry
count, directory offset, each entry's local-header offset). The object ends after the
end record's comment. A CRC mismatch or a broken chain after valid members is reported
as a partial object (fragmented or overwritten archive).
"""
from __future__ import annotations

import struct
import zlib

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

LOCAL, CENTRAL, END = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
END64, LOCATOR64, DESCRIPTOR = b"PK\x06\x06", b"PK\x06\x07", b"PK\x07\x08"
METHODS = frozenset({0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 18, 19, 93, 95, 96, 97, 98, 99})
MAX_ENTRIES = 200_000
MAX_CHECKED = 256 * MIB            # members larger than this (uncompressed) are not inflated
ODF = {"application/vnd.oasis.opendocument.text": "odt",
       "application/vnd.oasis.opendocument.spreadsheet": "ods",
       "application/vnd.oasis.opendocument.presentation": "odp",
       "application/vnd.oasis.opendocument.graphics": "odg",
       "application/epub+zip": "epub"}


class ZipCarver(Carver):
    name = "zip"
    version = "1"
    extensions = ("zip",)
    signatures = (LOCAL,)
    max_size = 4096 * MIB
    contains = frozenset({"zip"})           # members' local headers are the archive's own structure

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        members: list[tuple[int, str]] = []
        mimetype = b""
        pos = offset
        while True:
            sig = reader.read_at(pos, 4)
            if sig != LOCAL:
                break
            if len(members) >= MAX_ENTRIES:
                return None
            member = _local_member(reader, pos, limit)
            if isinstance(member, str):
                return _cut(offset, pos, members, member)
            name, end, data_start, method = member
            if not members and name == "mimetype" and method == 0:
                mimetype = reader.read_at(data_start, min(end - data_start, 64))
            members.append((pos - offset, name))
            pos = end
        if not members:
            return None
        central = _central(reader, pos, limit, offset, members)
        if isinstance(central, str):
            return _cut(offset, pos, members, central)
        kind = _classify([name for _, name in members], mimetype)
        return Extent(central - offset, format=kind, extension=kind)


def _local_member(reader: Reader, pos: int, limit: int) -> tuple[str, int, int, int] | str:
    head = reader.read_at(pos, 30)
    if len(head) < 30:
        return "local header runs past the end of the range"
    (_, _, flags, method, _, _, crc, csize, usize, name_len, extra_len) = struct.unpack("<4sHHHHHIIIHH", head)
    if method not in METHODS or not 0 < name_len <= 4096:
        return f"invalid local header at archive offset {pos}"
    name_bytes = reader.read_at(pos + 30, name_len)
    extra = reader.read_at(pos + 30 + name_len, extra_len)
    name = name_bytes.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    data_start = pos + 30 + name_len + extra_len
    if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF:
        sizes = _zip64_sizes(extra, usize, csize)
        if sizes is None:
            return "ZIP64 member without a ZIP64 extra field"
        usize, csize = sizes
    encrypted = bool(flags & 1)
    streamed = bool(flags & 8)
    if streamed and csize == 0:
        if method != 8 or encrypted:
            return "member with a data descriptor that is not plain deflate (its length is unknown)"
        inflated = _inflate(reader, data_start, limit, None)
        if isinstance(inflated, str):
            return inflated
        data_end, crc_actual, usize_actual = inflated
        descriptor = reader.read_at(data_end, 16)
        skip = 4 if descriptor[:4] == DESCRIPTOR else 0
        if len(descriptor) < skip + 12:
            return "data descriptor runs past the end of the range"
        crc, csize, usize = struct.unpack("<III", descriptor[skip:skip + 12])
        if csize != data_end - data_start or crc != crc_actual:
            return f"data descriptor of {name!r} does not match its data (CRC or size)"
        return name, data_end + skip + 12, data_start, method
    data_end = data_start + csize
    if data_end > limit:
        return f"member {name!r} runs past the end of the range"
    if not encrypted and method in (0, 8) and usize <= MAX_CHECKED:
        checked = _inflate(reader, data_start, data_end, data_end) if method == 8 else _crc(reader, data_start, data_end)
        if isinstance(checked, str):
            return checked
        if checked[1] != crc or checked[2] != usize:
            return f"CRC-32 of member {name!r} does not match (fragment boundary or overwritten)"
    if streamed:
        tail = reader.read_at(data_end, 4)
        data_end += 16 if tail == DESCRIPTOR else 12
    return name, data_end, data_start, method


def _zip64_sizes(extra: bytes, usize: int, csize: int) -> tuple[int, int] | None:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[pos:pos + 4])
        if tag == 1:
            values = list(struct.unpack(f"<{size // 8}Q", extra[pos + 4:pos + 4 + size // 8 * 8]))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            return usize, csize
        pos += 4 + size
    return None


def _crc(reader: Reader, start: int, end: int) -> tuple[int, int, int] | str:
    crc, pos = 0, start
    while pos < end:
        data = reader.read_at(pos, min(MIB, end - pos))
        if not data:
            return "member data runs past the end of the range"
        crc = zlib.crc32(data, crc)
        pos += len(data)
    return end, crc, end - start


def _inflate(reader: Reader, start: int, limit: int, end: int | None) -> tuple[int, int, int] | str:
    """Inflates raw deflate from ``start``: (end of the compressed data, CRC-32, size)."""
    inflater = zlib.decompressobj(-15)
    crc = size = 0
    pos = start
    stop = end if end is not None else limit
    while not inflater.eof:
        data = reader.read_at(pos, min(256 * 1024, stop - pos))
        if not data:
            return "deflate stream runs past the end of the range"
        try:
            out = inflater.decompress(data, 4 * MIB)
            while True:
                crc, size = zlib.crc32(out, crc), size + len(out)
                if size > MAX_CHECKED:
                    return "member inflates past the size limit"
                if not inflater.unconsumed_tail or inflater.eof:
                    break
                out = inflater.decompress(inflater.unconsumed_tail, 4 * MIB)
        except zlib.error as exc:
            return f"deflate data is corrupt ({exc}): fragment boundary or overwritten"
        consumed = len(data) - len(inflater.unused_data) if inflater.eof else len(data)
        pos += consumed
    return pos, crc, size


def _central(reader: Reader, pos: int, limit: int, base: int,
             members: list[tuple[int, str]]) -> int | str:
    """Walks the central directory; returns the end of the archive or what is wrong."""
    directory_start = pos
    count = 0
    while reader.read_at(pos, 4) == CENTRAL:
        head = reader.read_at(pos, 46)
        if len(head) < 46:
            return "central directory runs past the end of the range"
        name_len, extra_len, comment_len = struct.unpack("<HHH", head[28:34])
        (local_offset,) = struct.unpack("<I", head[42:46])
        if count >= len(members):
            return "central directory lists more members than the archive holds"
        if local_offset != 0xFFFFFFFF and local_offset != members[count][0]:
            return f"central directory entry {count} points at offset {local_offset}, not {members[count][0]}"
        pos += 46 + name_len + extra_len + comment_len
        count += 1
    if count != len(members):
        return f"central directory lists {count} of {len(members)} members"
    sig = reader.read_at(pos, 4)
    if sig == END64:
        (size,) = struct.unpack("<Q", reader.read_at(pos + 4, 8))
        pos += 12 + size
        if reader.read_at(pos, 4) == LOCATOR64:
            pos += 20
        sig = reader.read_at(pos, 4)
    if sig != END:
        return "no end of central directory record after the central directory"
    end = reader.read_at(pos, 22)
    if len(end) < 22:
        return "end record runs past the end of the range"
    _, _, _, _, total, _, cd_offset, comment_len = struct.unpack("<4sHHHHIIH", end)
    if total not in (count, 0xFFFF) or cd_offset not in (directory_start - base, 0xFFFFFFFF):
        return "end of central directory record disagrees with the directory"
    finish = pos + 22 + comment_len
    if finish > limit:
        return "archive comment runs past the end of the range"
    return finish


def _cut(offset: int, pos: int, members: list[tuple[int, str]], why: str) -> Extent | None:
    if not members:
        return None
    return truncated(pos - offset, f"partial ZIP ({len(members)} members readable): {why}")


def _classify(names: list[str], mimetype: bytes) -> str:
    if mimetype:
        kind = ODF.get(mimetype.decode("ascii", "replace").strip())
        if kind:
            return kind
    names_set = set(names)
    if "[Content_Types].xml" in names_set:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    if "AndroidManifest.xml" in names_set and "classes.dex" in names_set:
        return "apk"
    if "META-INF/MANIFEST.MF" in names_set:
        return "jar"
    return "zip"
