"""Each carver on real files (made by Pillow, zipfile, sqlite3; /bin/true; a PE from pip):
found bit-exact between random bytes, classified, and never reported complete when cut."""
from __future__ import annotations

import hashlib
import random

import pytest

import carving_material as material
from forensics.carving import CARVERS, CarvedObject, CarveRange, CarveWarning, ScanOptions, carve_range
from forensics.reader import BytesReader

FILES = material.planted_set()
EXPECTED_FORMAT = {"docs/letter.docx": "docx", "docs/minutes.odt": "odt", "bin/launcher.exe": "pe",
                   "bin/true": "elf", "data/chat.sqlite": "sqlite", "images/fax.tif": "tiff"}


def _carve(blob: bytes, **options) -> list[CarvedObject | CarveWarning]:
    rng = CarveRange("mem", 0, len(blob), "whole-image", None, 0)
    return list(carve_range(BytesReader(blob), rng, options=ScanOptions(**options)))


def _objects(found) -> list[CarvedObject]:
    return [o for o in found if isinstance(o, CarvedObject)]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_registry_names_and_versions_are_unique():
    names = [c.name for c in CARVERS]
    assert len(names) == len(set(names))
    assert all(c.version and c.extensions and (c.signatures or c.pattern) for c in CARVERS)


@pytest.mark.parametrize("path", sorted(FILES))
def test_each_format_is_recovered_bit_exact_between_random_bytes(path):
    data = FILES[path]
    rng = random.Random(path)
    blob = rng.randbytes(3001) + data + rng.randbytes(4097)
    objects = [o for o in _objects(_carve(blob)) if o.embedded_in is None]
    assert [(o.offset, o.size, o.sha256, o.status) for o in objects] == [(3001, len(data), sha(data), "complete")]
    assert objects[0].image_ranges == ((3001, len(data)),)
    expected = EXPECTED_FORMAT.get(path, path.rsplit(".", 1)[-1].replace("jpg", "jpeg").replace("tif", "tiff"))
    assert objects[0].format == expected
    assert objects[0].md5 == hashlib.md5(data).hexdigest() and objects[0].sha1 == hashlib.sha1(data).hexdigest()


def test_exif_thumbnail_does_not_end_the_outer_jpeg_and_is_reported_inside_it():
    outer, thumb = material.jpeg_with_thumbnail(3)
    objects = _objects(_carve(b"\x00" * 512 + outer + b"\x00" * 512))
    by_sha = {o.sha256: o for o in objects}
    assert by_sha[sha(outer)].status == "complete" and by_sha[sha(outer)].embedded_in is None
    assert by_sha[sha(thumb)].embedded_in == 512
    assert not any(o.format == "tiff" for o in objects)       # the Exif block is not a TIFF file
    only_outer = _objects(_carve(b"\x00" * 512 + outer, report_embedded=False))
    assert [o.sha256 for o in only_outer] == [sha(outer)]


def test_file_at_the_very_end_of_the_range():
    data = material.png(5)
    blob = random.Random(1).randbytes(10_000) + data
    objects = _objects(_carve(blob))
    assert [(o.offset, o.size, o.status) for o in objects] == [(10_000, len(data), "complete")]


@pytest.mark.parametrize("path", sorted(FILES))
def test_truncated_objects_are_never_complete(path):
    data = FILES[path]
    cut = data[:len(data) * 2 // 3]
    objects = [o for o in _objects(_carve(b"\x00" * 1024 + cut)) if o.offset == 1024]
    assert all(o.status == "partial" for o in objects), [(o.format, o.status, o.note) for o in objects]
    assert all(o.size <= len(cut) for o in objects)


def test_fragmented_jpeg_is_partial_at_the_fragment_boundary():
    data = material.jpeg(11, (640, 480))
    split = len(data) // 2 // 4096 * 4096
    foreign = material.png(12) + b"\x00" * 8192                 # another file's block, then zeros
    blob = data[:split] + foreign + data[split:]
    objects = [o for o in _objects(_carve(blob)) if o.format == "jpeg"]
    assert objects[0].offset == 0 and objects[0].status == "partial"
    assert objects[0].size <= split + len(foreign)
    assert "partial JPEG" in objects[0].note
    assert not any(o.sha256 == sha(data) for o in objects)


def test_png_with_a_damaged_chunk_is_partial():
    data = bytearray(material.png(13, (500, 500)))
    assert data.count(b"IDAT") > 2                  # Pillow splits the image data into 64 KiB chunks
    data[len(data) * 3 // 4] ^= 0xFF
    objects = _objects(_carve(bytes(data)))
    assert [(o.status, o.format) for o in objects] == [("partial", "png")]
    assert "CRC mismatch" in objects[0].note


def test_zip_with_a_corrupt_member_is_partial():
    data = bytearray(material.zip_archive({"a.txt": b"alpha " * 2000, "b.txt": b"beta " * 2000}))
    data[50] ^= 0x55                                # inside the first member's deflate data
    objects = _objects(_carve(bytes(data)))
    assert objects and all(o.status == "partial" for o in objects)


def test_header_flood_is_bounded_and_recorded():
    blob = b"\xff\xd8\xff" * (20 * 1024 * 1024 // 3)
    calls = []
    jpeg = next(c for c in CARVERS if c.name == "jpeg")

    class Counting(type(jpeg)):
        def validate(self, reader, offset, limit):
            calls.append(offset)
            return super().validate(reader, offset, limit)

    rng = CarveRange("mem", 0, len(blob), "whole-image", None, 0)
    found = list(carve_range(BytesReader(blob), rng, carvers=(Counting(),),
                             options=ScanOptions(window=4 << 20, max_headers_per_mib=256)))
    warnings = [w for w in found if isinstance(w, CarveWarning)]
    assert not _objects(found)
    assert len(calls) <= 256 * 21
    assert warnings and all(w.kind == "header-flood" for w in warnings)
    assert sum(int(w.message.split()[0]) for w in warnings) + len(calls) >= len(blob) // 3 - 1


class RecordingReader(BytesReader):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read_at(self, offset: int, size: int) -> bytes:
        self.largest = max(self.largest, size)
        return super().read_at(offset, size)


def test_reads_stay_bounded_by_the_window_whatever_the_object_size():
    big_zip = material.zip_archive({f"m{i}.bin": random.Random(i).randbytes(400_000) for i in range(12)})
    big_db = material.sqlite_db(2, rows=40_000)
    blob = b"\x00" * 4096 + big_zip + b"\x00" * 4096 + big_db + b"\x00" * 4096
    reader = RecordingReader(blob)
    window = 1 << 20
    rng = CarveRange("mem", 0, len(blob), "whole-image", None, 0)
    objects = _objects(carve_range(reader, rng, options=ScanOptions(window=window)))
    assert {o.sha256 for o in objects} >= {sha(big_zip), sha(big_db)}
    assert len(big_zip) > 4 * window and len(big_db) > window
    assert reader.largest <= window + 4096


def test_objects_crossing_a_split_are_found_whole():
    from forensics.carving import split_range

    data = material.jpeg(21, (800, 600))
    blob = b"\x00" * 100_000 + data + b"\x00" * 100_000
    whole = CarveRange("mem", 0, len(blob), "unallocated", "/p1", 0)
    reader = BytesReader(blob)
    pieces = list(split_range(whole, 110_000))
    objects = [o for piece in pieces for o in _objects(carve_range(reader, piece))]
    assert [(o.offset, o.sha256) for o in objects] == [(100_000, sha(data))]
    assert sum(p.length for p in pieces) == len(blob)
