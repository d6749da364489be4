"""Real files of every carved format, made deterministically for the carving tests.

Pillow writes the images (JPEG, PNG, GIF, BMP, TIFF) and a PDF; zipfile the archives
(one with data descriptors, as a streaming writer makes them); sqlite3 a database; the
ELF is /bin/true and the PE a distlib launcher shipped inside pip.
"""
from __future__ import annotations

import glob
import io
import os
import random
import sqlite3
import struct
import tempfile
import zipfile
from pathlib import Path

from PIL import Image


def _picture(width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    a, b, c = (rng.randrange(256) for _ in range(3))
    for y in range(height):
        for x in range(width):
            pixels[x, y] = ((a + x * 3 + rng.randrange(24)) % 256, (b + y * 2) % 256, (c + (x ^ y)) % 256)
    return image


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def jpeg(seed: int, size: tuple[int, int] = (320, 240), **options) -> bytes:
    return _save(_picture(*size, seed), "JPEG", quality=88, **options)


def jpeg_with_thumbnail(seed: int) -> tuple[bytes, bytes]:
    """(JPEG whose Exif APP1 holds a JPEG thumbnail in IFD1, the thumbnail)."""
    thumb = jpeg(seed + 1000, (80, 60))
    main = jpeg(seed, (400, 300))
    # TIFF header, IFD0 (Orientation), IFD1 (JPEGInterchangeFormat + Length), then the thumbnail
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 1) + struct.pack("<I", 8 + 18)
    ifd1_at = 8 + 18
    thumb_at = ifd1_at + 2 + 2 * 12 + 4
    ifd1 = (struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, thumb_at)
            + struct.pack("<HHII", 0x0202, 4, 1, len(thumb)) + struct.pack("<I", 0))
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1 + thumb
    app1 = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    return main[:2] + segment + main[2:], thumb


def png(seed: int, size: tuple[int, int] = (200, 150)) -> bytes:
    return _save(_picture(*size, seed), "PNG")


def gif(seed: int) -> bytes:
    return _save(_picture(160, 120, seed).convert("P", palette=Image.Palette.ADAPTIVE), "GIF")


def bmp(seed: int) -> bytes:
    return _save(_picture(90, 70, seed), "BMP")


def tiff(seed: int) -> bytes:
    return _save(_picture(120, 90, seed), "TIFF")


def pdf(seed: int) -> bytes:
    return _save(_picture(100, 80, seed), "PDF")


def zip_archive(members: dict[str, bytes], streamed: bool = False) -> bytes:
    """A deflated ZIP; ``streamed`` writes through an unseekable file so every member gets
    a data descriptor (general-purpose flag bit 3), as streaming writers do."""
    buf = io.BytesIO()
    target = _Unseekable(buf) if streamed else buf
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


class _Unseekable(io.RawIOBase):
    def __init__(self, inner: io.BytesIO) -> None:
        self._inner = inner

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._inner.write(data)

    def seekable(self) -> bool:
        return False


def docx(seed: int) -> bytes:
    return zip_archive({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                               b'content-types"/>',
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document><w:body>exhibit %d</w:body></w:document>" % seed,
    })


def odt(seed: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype", (2020, 1, 1, 0, 0, 0)),
                         b"application/vnd.oasis.opendocument.text", compress_type=zipfile.ZIP_STORED)
        archive.writestr(zipfile.ZipInfo("content.xml", (2020, 1, 1, 0, 0, 0)),
                         b"<office:document-content>%d</office:document-content>" % seed,
                         compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def sqlite_db(seed: int, rows: int = 400) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "db.sqlite")
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, sender TEXT, body TEXT)")
        rng = random.Random(seed)
        con.executemany("INSERT INTO messages (sender, body) VALUES (?, ?)",
                        [(f"user{rng.randrange(100)}", "x" * rng.randrange(10, 200)) for _ in range(rows)])
        con.commit()
        con.close()
        return path.read_bytes()


def elf() -> bytes:
    return Path("/bin/true").read_bytes()


def pe() -> bytes | None:
    import pip

    found = sorted(glob.glob(os.path.join(os.path.dirname(pip.__file__), "_vendor", "distlib", "*.exe")))
    return Path(found[0]).read_bytes() if found else None


def planted_set(seed: int = 7) -> dict[str, bytes]:
    """Path -> content of one of each format (deleted in the tests)."""
    thumb_jpeg, _ = jpeg_with_thumbnail(seed)
    files = {
        "photos/beach.jpg": jpeg(seed),
        "photos/exif_thumb.jpg": thumb_jpeg,
        "photos/large.jpg": jpeg(seed + 1, (1024, 768)),
        "images/diagram.png": png(seed),
        "images/anim.gif": gif(seed),
        "images/scan.bmp": bmp(seed),
        "images/fax.tif": tiff(seed),
        "docs/contract.pdf": pdf(seed),
        "docs/letter.docx": docx(seed),
        "docs/minutes.odt": odt(seed),
        "archive/backup.zip": zip_archive({"ledger.csv": b"a,b\n" * 500, "notes.txt": os.urandom(0) + b"noon\n"}),
        "archive/streamed.zip": zip_archive({"one.txt": b"first " * 300, "two.bin": bytes(range(256)) * 20},
                                            streamed=True),
        "data/chat.sqlite": sqlite_db(seed),
        "bin/true": elf(),
    }
    exe = pe()
    if exe is not None:
        files["bin/launcher.exe"] = exe
    return files
