"""PE executables (EXE/DLL/SYS): Microsoft "PE Format" (learn.microsoft.com, Windows
PE/COFF specification), sections "MS-DOS Stub", "COFF File Header", "Optional Header",
"Section Table" and "The Attribute Certificate Table".

"MZ", e_lfanew at 0x3C pointing at "PE\\0\\0", a COFF header with 1-96 sections and an
optional header of the PE32 (0x10B) or PE32+ (0x20B) kind. The file ends at the furthest
of SizeOfHeaders, every section's PointerToRawData + SizeOfRawData, and the certificate
table (data directory 4, whose address is a file offset). Overlay data past that (an
installer's payload) is not included: nothing in the headers says how long it is.
"""
from __future__ import annotations

import struct

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated


class PeCarver(Carver):
    name = "pe"
    version = "1"
    extensions = ("exe",)
    signatures = (b"MZ",)
    max_size = 1024 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        dos = reader.read_at(offset, 64)
        if len(dos) < 64:
            return None
        (lfanew,) = struct.unpack("<I", dos[60:64])
        if not 64 <= lfanew <= 64 * 1024 or lfanew % 4:
            return None
        head = reader.read_at(offset + lfanew, 24 + 240)
        if len(head) < 24 + 96 or head[:4] != b"PE\x00\x00":
            return None
        _, sections, _, _, _, optional_size, characteristics = struct.unpack("<HHIIIHH", head[4:24])
        if not 1 <= sections <= 96 or optional_size < 96:
            return None
        magic = struct.unpack("<H", head[24:26])[0]
        if magic == 0x10B:
            directories_at = 96
        elif magic == 0x20B:
            directories_at = 112
        else:
            return None
        optional = reader.read_at(offset + lfanew + 24, optional_size)
        if len(optional) < optional_size:
            return None
        (size_of_headers,) = struct.unpack("<I", optional[60:64])
        (file_alignment,) = struct.unpack("<I", optional[36:40])
        if file_alignment == 0 or file_alignment & (file_alignment - 1) or size_of_headers > 64 * 1024 * 1024:
            return None
        end = size_of_headers
        table_at = offset + lfanew + 24 + optional_size
        table = reader.read_at(table_at, 40 * sections)
        if len(table) < 40 * sections:
            return None
        for index in range(sections):
            raw_size, raw_pointer = struct.unpack("<II", table[index * 40 + 16:index * 40 + 24])
            if raw_size and raw_pointer:
                end = max(end, raw_pointer + raw_size)
        count = struct.unpack("<I", optional[directories_at - 4:directories_at])[0]
        if count > 4 and len(optional) >= directories_at + 5 * 8:
            cert_at, cert_size = struct.unpack("<II", optional[directories_at + 32:directories_at + 40])
            if cert_at and cert_size:
                end = max(end, cert_at + cert_size)
        if end > self.max_size or end < lfanew + 24:
            return None
        kind = "dll" if characteristics & 0x2000 else "exe"
        if offset + end > limit:
            return truncated(limit - offset, "partial PE: sections run past the end of the range", extension=kind)
        return Extent(end, extension=kind)
