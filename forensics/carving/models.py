"""Record types of carving: where to look, what was found, what went wrong.

Offsets are named in two spaces. *Stream* offsets are positions in the bytes named by
``locator`` (the media, or a volume that is not a plain slice of the media, such as an
unlocked BitLocker or LVM volume). *Image* offsets are positions in the media (the
logical disk the image stands for, what ``evidence add`` hashes); they are what a
report quotes, and exist whenever the stream is a linear slice of the media.
"""
from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("unallocated", "slack", "unpartitioned", "gap", "volume-slack", "volume", "whole-image")
"""Where a range comes from: a file system's unallocated blocks, file slack, disk space
outside every partition (before the first / after the last, or between two), the tail of
a partition past its file system, a whole volume whose allocation is unknown (no file
system, or one whose allocation map is not read), or an image with no volume at all."""


@dataclass(frozen=True)
class CarveRange:
    """A contiguous run of bytes to search for file headers."""

    locator: str                     # stream the offsets are in (usually the media locator)
    offset: int                      # stream offset of the first byte
    length: int
    source: str                      # one of SOURCES
    volume_path: str | None = None   # e.g. "/p2"; None for disk-level ranges
    image_offset: int | None = None  # media offset of `offset`; None when the stream is not a media slice
    fs_locator: str | None = None    # the file system an unallocated/slack range belongs to
    read_limit: int | None = None    # stream offset objects may extend to (default: offset + length)

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def limit(self) -> int:
        return max(self.read_limit or 0, self.end)

    def to_image(self, stream_offset: int) -> int | None:
        """Media offset of a stream offset inside this range's stream."""
        return None if self.image_offset is None else self.image_offset + stream_offset - self.offset


@dataclass(frozen=True)
class CarvedObject:
    """One object a carver validated, hashed while it was streamed to the sink."""

    format: str                      # carver's family name, or the refined one ("docx", "apk"...)
    extension: str
    carver: str
    carver_version: str
    locator: str                     # stream carved
    offset: int                      # stream offset of the first byte
    size: int
    image_ranges: tuple[tuple[int, int], ...]  # (media offset, length) fragments in order; () if unknown
    sha256: str
    md5: str
    sha1: str
    status: str                      # complete | partial
    note: str
    source: str                      # CarveRange.source it was found in
    volume_path: str | None = None
    fs_locator: str | None = None
    embedded_in: int | None = None   # stream offset of the complete object this one lies inside
    stored_as: str = ""              # what the sink returned (a path for DirectorySink)


@dataclass(frozen=True)
class CarveWarning:
    """Something the carver skipped or could not read; carving goes on."""

    image_offset: int | None
    message: str
    kind: str = ""                   # header-flood | time-budget | read-error | allocation | encrypted ...
    locator: str = ""
    offset: int | None = None        # stream offset
