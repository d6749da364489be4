"""Containers the tests build themselves: nested mixed archives, hostile archives, documents with
pictures inside (PDF via pikepdf, DOCX as OOXML, a legacy OLE2 .doc written sector by sector)."""
from __future__ import annotations

import io
import struct
import tarfile
import zipfile
from pathlib import Path


def jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real, decodable JPEG different for each seed."""
    from PIL import Image

    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    for x in range(0, size[0], 4):
        image.putpixel((x, seed % size[1]), (255, 255 - x % 256, x % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def tar_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_bytes(files: dict[str, bytes] | list[tuple[str, bytes]], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    items = files.items() if isinstance(files, dict) else files
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in items:
            archive.writestr(zipfile.ZipInfo(name, (2024, 5, 1, 12, 0, 0)), data, compress_type=compression)
    return out.getvalue()


def seven_zip_bytes(files: dict[str, bytes]) -> bytes:
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(data, name)
    return out.getvalue()


def pdf_with(picture: bytes, attachment: tuple[str, bytes] | None = None) -> bytes:
    """A one-page PDF showing ``picture`` (a JPEG, kept as a /DCTDecode stream byte for byte)."""
    import pikepdf
    from PIL import Image

    width, height = Image.open(io.BytesIO(picture)).size
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    image = pikepdf.Stream(pdf, picture)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = width, height, 8
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceRGB, pikepdf.Name.DCTDecode
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pikepdf.Stream(pdf, b"q 100 0 0 100 0 0 cm /Im0 Do Q")
    if attachment:
        pdf.attachments[attachment[0]] = pikepdf.AttachedFileSpec(pdf, attachment[1], filename=attachment[0])
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def docx_with(picture: bytes) -> bytes:
    types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'content-types"><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/'
             b'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
             b'main+xml"/></Types>')
    return zip_bytes([("[Content_Types].xml", types),
                      ("_rels/.rels", b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                                      b'package/2006/relationships"/>'),
                      ("word/document.xml", b'<?xml version="1.0"?><w:document/>'),
                      ("word/media/image1.jpeg", picture)])


def ole_doc_with(picture: bytes) -> bytes:
    """A legacy Word-like OLE2 compound file (CFB v3, 512-byte sectors): a WordDocument stream and a
    Data stream holding ``picture`` behind a 68-byte record header, as Word stores pictures."""
    streams = [("WordDocument", b"\xec\xa5" + b"\x00" * 4606),
               ("Data", struct.pack("<I", len(picture) + 68) + b"\x00" * 64 + picture)]
    streams = [(name, data + b"\x00" * max(0, 4096 - len(data))) for name, data in streams]   # no mini stream
    sector = 512
    body, starts, next_sector = b"", [], 2                       # sector 0: FAT, sector 1: directory
    fat = [0xFFFFFFFD, 0xFFFFFFFE]
    for _, data in streams:
        count = -(-len(data) // sector)
        starts.append(next_sector)
        fat += [next_sector + i + 1 for i in range(count - 1)] + [0xFFFFFFFE]
        body += data + b"\x00" * (count * sector - len(data))
        next_sector += count
    fat += [0xFFFFFFFF] * (128 - len(fat))

    def entry(name: str, kind: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\x00\x00"
        return (encoded.ljust(64, b"\x00") + struct.pack("<HBB", len(encoded), kind, 1)
                + struct.pack("<iii", left, right, child) + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16
                + struct.pack("<iII", start, size, 0))

    directory = (entry("Root Entry", 5, -1, -1, 1, -2, 0)
                 + entry(streams[0][0], 2, -1, 2, -1, starts[0], len(streams[0][1]))
                 + entry(streams[1][0], 2, -1, -1, -1, starts[1], len(streams[1][1]))
                 + entry("", 0, -1, -1, -1, 0, 0))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\x00" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<I", 0) + struct.pack("<I", 0xFFFFFFFF) * 108)
    assert len(header) == 512
    return header + struct.pack("<128I", *fat) + directory + body


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def rar4_stored(files: dict[str, bytes]) -> bytes:
    """A RAR 4 archive with stored (uncompressed) members, written block by block (RAR 4.x technote:
    marker, archive header 0x73, a file header 0x74 per member, end block 0x7B; each header's CRC is the
    low 16 bits of its CRC-32). Nothing free writes RAR; this is enough to test reading one."""
    import zlib

    def block(kind: int, flags: int, body: bytes) -> bytes:
        head = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\x00" * 6)
    for name, data in files.items():
        raw = name.encode()
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), 0x5A210000, 20, 0x30, len(raw),
                           0o100644) + raw                      # host 3 (Unix): the attributes are st_mode
        out += block(0x74, 0x8000, body) + data
    return out + block(0x7B, 0x4000, b"")
