"""Fuzz targets: one function per parser of hostile bytes, taking the bytes and raising only what the
parser promises (its documented refusal); anything else, a crash or a hang is a bug.

``TARGETS`` is the registry (name -> (function, seeds)); ``tests/fuzz/run.py`` runs one under atheris
(coverage-guided), ``tests/fuzz/test_fuzz.py`` runs each briefly and replays ``regressions/``, and
``bench/fuzz.py`` runs them longer.
"""
from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Callable

MAX_RECORDS = 5000          # a walk over a mutated image stops here (the fuzzer looks for crashes, not ends)


def _file(data: bytes, suffix: str = "") -> str:
    handle, path = tempfile.mkstemp(prefix="fuzz-", suffix=suffix)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


def carver(name: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from forensics.carving import CARVERS, NullSink
        from forensics.carving.models import CarveRange
        from forensics.carving.scanner import carve_range
        from forensics.reader import BytesReader

        chosen = tuple(c for c in CARVERS if c.name == name)
        rng = CarveRange("fuzz", 0, len(data), "whole-image", None, 0)
        for _ in carve_range(BytesReader(data), rng, NullSink(), carvers=chosen):
            pass
    return run


def hashset(fmt: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        from forensics.matchers.errors import HashSetFormatError
        from forensics.matchers.hashsets import read_hashset, read_rows

        path = _file(data)
        try:
            for reader in (read_hashset, read_rows):
                try:
                    for _ in reader(path, fmt):
                        pass
                except HashSetFormatError:
                    pass
        finally:
            os.unlink(path)
    return run


def pdq(data: bytes) -> None:
    from forensics.matchers.errors import MatcherItemError
    from forensics.matchers.pdq import pdq_digest

    try:
        pdq_digest(data)
    except MatcherItemError:
        pass


def tlsh(data: bytes) -> None:
    from forensics.matchers.tlsh_digest import tlsh_digest

    tlsh_digest(data)


def walker(data: bytes) -> None:
    from forensics.errors import FileSystemOpenError, ImageError
    from forensics.volumes import scan_volumes
    from forensics.walk import walk_file_system

    path = _file(data, ".raw")
    try:
        for volume in list(scan_volumes(path)):
            if volume.kind != "filesystem":
                continue
            for count, _ in enumerate(walk_file_system(volume.locator)):
                if count >= MAX_RECORDS:
                    break
    except (ImageError, FileSystemOpenError):
        pass
    finally:
        os.unlink(path)


# --- seeds: small valid inputs each target starts mutating from --------------------------------------

def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (24, 16), (120, 30, 200)).save(out, "JPEG")
    return out.getvalue()


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (24, 16), (10, 130, 40)).save(out, "PNG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HASH_LIST = b"d41d8cd98f00b204e9800998ecf8427e  empty.txt\n# comment\nMD5 (x) = 0cc175b9c0f1b6a831c399e269772661\n"
HASHDEEP = (b"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n## comment\n"
            b"5,0cc175b9c0f1b6a831c399e269772661,"
            b"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb,/a, b.txt\n")
NSRL = (b'"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"\n'
        b'"0000002D9D62AEBE1E0E9DB6C9C9C14E8C3C5B0B","1D6EBB5A789ABD108FF578263E1F40F3","FFFFFFFF",'
        b'"_sfx_0024._p",4109,21000,"358",""\n')
VICS = (b'{"odata.metadata":"http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/$metadata#Media",'
        b'"value":[{"MediaID":1,"Category":1,"MD5":"0CC175B9C0F1B6A831C399E269772661","MediaSize":1}]}')
PDQ_LIST = b"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,cat-1\n"


def _disk() -> bytes:
    """A small FAT image with a few files (built by mkfs.vfat/mcopy when present)."""
    from forensics.sample import build_fat_image

    with tempfile.TemporaryDirectory() as tmp:
        path = build_fat_image(os.path.join(tmp, "seed.img"), {"a.txt": b"alpha\n", "d/b.bin": bytes(range(256))},
                               size_mib=8)
        with open(path, "rb") as handle:
            return handle.read()


CARVER_SEEDS: dict[str, Callable[[], list[bytes]]] = {
    "jpeg": lambda: [_jpeg()], "png": lambda: [_png()], "zip": lambda: [_zip()], "pdf": lambda: [PDF],
    "gif": lambda: [b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"], "bmp": lambda: [b"BM" + bytes(60)],
    "tiff": lambda: [b"II*\x00\x08\x00\x00\x00\x00\x00"], "sqlite": lambda: [b"SQLite format 3\x00" + bytes(84)],
    "pe": lambda: [b"MZ" + bytes(58) + b"\x40\x00\x00\x00" + b"PE\x00\x00" + bytes(200)],
    "elf": lambda: [b"\x7fELF\x02\x01\x01" + bytes(57)],
}


def _targets() -> dict[str, tuple[Callable[[bytes], None], Callable[[], list[bytes]]]]:
    from forensics.carving import CARVERS

    found: dict[str, tuple[Callable[[bytes], None], Callable[[], list[bytes]]]] = {}
    for c in CARVERS:
        found[f"carver-{c.name}"] = (carver(c.name), CARVER_SEEDS.get(c.name, lambda: [b""]))
    for fmt, seed in (("hash-list", HASH_LIST), ("hashdeep", HASHDEEP), ("nsrl-rds2", NSRL), ("vics", VICS),
                      ("pdq-list", PDQ_LIST), ("hashkeeper", b"hashset_id,file_name,directory,hash,file_size\n"),
                      ("ilook", b"V4Hash,FileName\n")):
        found[f"hashset-{fmt}"] = (hashset(fmt), lambda s=seed: [s])
    found["pdq"] = (pdq, lambda: [_jpeg(), _png()])
    found["tlsh"] = (tlsh, lambda: [bytes(range(256)) * 4])
    found["walker"] = (walker, lambda: [_disk()])
    return found


TARGETS = _targets()
