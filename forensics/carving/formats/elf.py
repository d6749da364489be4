"""ELF executables and shared objects: System V ABI, "ELF-64 Object File Format" /
Tool Interface Standard ELF 1.2, chapter 1 (ELF header, section header table) and
chapter 2 (program header table).

The ELF identification (class 1/2, data 1/2, version 1) and the header's own sizes
(e_ehsize, e_phentsize, e_shentsize) are checked; the file ends at the furthest of the
program header table, the section header table, every section's sh_offset + sh_size
(except SHT_NOBITS, which occupies no file space) and every segment's p_offset +
p_filesz.
"""
from __future__ import annotations

import struct

from forensics.carving.formats.base import MIB, Carver, Extent, Reader, truncated

SHT_NOBITS = 8
MAX_HEADERS = 65535


class ElfCarver(Carver):
    name = "elf"
    version = "1"
    extensions = ("elf",)
    signatures = (b"\x7fELF",)
    max_size = 2048 * MIB

    def validate(self, reader: Reader, offset: int, limit: int) -> Extent | None:
        ident = reader.read_at(offset, 64)
        if len(ident) < 52 or ident[4] not in (1, 2) or ident[5] not in (1, 2) or ident[6] != 1:
            return None
        wide, e = ident[4] == 2, "<" if ident[5] == 1 else ">"
        if wide:
            if len(ident) < 64:
                return None
            phoff, shoff = struct.unpack(e + "QQ", ident[32:48])
            ehsize, phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack(e + "6H", ident[52:64])
            expected = (64, 56, 64)
        else:
            phoff, shoff = struct.unpack(e + "II", ident[28:36])
            ehsize, phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack(e + "6H", ident[40:52])
            expected = (52, 32, 40)
        if ehsize != expected[0] or (phnum and phentsize != expected[1]) or (shnum and shentsize != expected[2]):
            return None
        if not phnum and not shnum:
            return None
        if shnum and shstrndx >= shnum and shstrndx != 0xFFFF:
            return None
        end = ehsize
        for table, count, entsize in ((phoff, phnum, phentsize), (shoff, shnum, shentsize)):
            if count:
                if table < ehsize or table + count * entsize > self.max_size:
                    return None
                end = max(end, table + count * entsize)
        if offset + end > limit:
            return truncated(limit - offset, "partial ELF: header tables run past the end of the range")
        for table, count, entsize, is_section in ((phoff, phnum, phentsize, False), (shoff, shnum, shentsize, True)):
            if not count:
                continue
            data = reader.read_at(offset + table, count * entsize)
            if len(data) < count * entsize:
                return None
            for index in range(count):
                entry = data[index * entsize:(index + 1) * entsize]
                if is_section:
                    kind = struct.unpack(e + "I", entry[4:8])[0]
                    if kind == SHT_NOBITS:
                        continue
                    start, size = (struct.unpack(e + "QQ", entry[24:40]) if wide
                                   else struct.unpack(e + "II", entry[16:24]))
                else:
                    start, size = (struct.unpack(e + "QQ", entry[8:16] + entry[32:40]) if wide
                                   else struct.unpack(e + "II", entry[4:8] + entry[16:20]))
                if size and start + size > self.max_size:
                    return None
                if size:
                    end = max(end, start + size)
        kind = {1: "o", 4: "core"}.get(struct.unpack(e + "H", ident[16:18])[0], "elf")
        if offset + end > limit:
            return truncated(limit - offset, "partial ELF: sections run past the end of the range", extension=kind)
        return Extent(end, extension=kind)
