"""File carving: objects recovered from unallocated space, slack and unpartitioned areas.

``carve_ranges`` says where to look (as ``CarveRange`` records in image byte offsets);
``carve_range`` scans one range and yields ``CarvedObject`` records (hashed while they
are streamed to an ``ArtifactSink``) and ``CarveWarning`` facts; ``carve`` chains both
for one image. Every object names the carver and carver version that validated it.

``CARVERS`` is the registry, in the order candidates at the same offset are tried.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from forensics.carving.formats.base import Carver, Extent
from forensics.carving.formats.bmp import BmpCarver
from forensics.carving.formats.elf import ElfCarver
from forensics.carving.formats.gif import GifCarver
from forensics.carving.formats.jpeg import JpegCarver
from forensics.carving.formats.pdf import PdfCarver
from forensics.carving.formats.pe import PeCarver
from forensics.carving.formats.png import PngCarver
from forensics.carving.formats.sqlite import SqliteCarver
from forensics.carving.formats.tiff import TiffCarver
from forensics.carving.formats.zip import ZipCarver
from forensics.carving.models import CarvedObject, CarveRange, CarveWarning
from forensics.reader import ByteReader, close_reader, open_reader
from forensics.carving.scanner import ScanOptions, carve_range
from forensics.carving.sink import ArtifactSink, DirectorySink, NullSink

CARVERS: tuple[Carver, ...] = (
    JpegCarver(),
    PngCarver(),
    GifCarver(),
    BmpCarver(),
    TiffCarver(),
    PdfCarver(),
    ZipCarver(),
    SqliteCarver(),
    PeCarver(),
    ElfCarver(),
)


def carver_versions(carvers: Sequence[Carver] = CARVERS) -> dict[str, str]:
    """name -> version of every carver in use (for the processing record)."""
    return {carver.name: carver.version for carver in carvers}


def carve(ranges: Iterable[CarveRange | CarveWarning], sink: ArtifactSink | None = None, *,
          carvers: Sequence[Carver] = CARVERS,
          options: ScanOptions = ScanOptions()) -> Iterator[CarvedObject | CarveWarning]:
    """Carves each range (warnings among the ranges are passed through)."""
    readers: dict[str, ByteReader] = {}
    try:
        for item in ranges:
            if isinstance(item, CarveWarning):
                yield item
                continue
            reader = readers.get(item.locator)
            if reader is None:
                reader = readers[item.locator] = open_reader(item.locator)
            yield from carve_range(reader, item, sink, carvers=carvers, options=options)
    finally:
        for reader in readers.values():
            close_reader(reader)


from forensics.carving.ranges import carve_ranges, split_range  # noqa: E402  (ranges imports the models above)

__all__ = [
    "CARVERS", "ArtifactSink", "CarveRange", "CarveWarning", "CarvedObject", "Carver", "DirectorySink",
    "Extent", "NullSink", "ScanOptions", "carve", "carve_range", "carve_ranges", "carver_versions",
    "open_reader", "split_range",
]
