"""Reading evidence bytes by locator: the one reader every stage and view goes through.

Two access patterns over the same locators (serialized dfvfs path specs, docs/architecture.md):

- ``StreamReader.chunks(locator)`` reads one file's data stream from start to end: The Sleuth
  Kit on top of dfvfs's file object of its volume (deleted files and NTFS named streams
  included), file systems kept open between calls; dfvfs for everything else.
- ``open_reader(locator)`` gives random access to a stream (a whole medium, a partition):
  ``os.pread`` on a single-file raw image, a dfvfs file object otherwise (EWF, QCOW, VHD,
  BitLocker...). Carving reads through it.

Evidence is only ever opened read-only.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Protocol

from dfvfs.lib import definitions
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.resolver import resolver

from forensics import tsk
from forensics.errors import FileSystemOpenError, ItemError
from forensics.image import Credentials, apply_credentials
from forensics.locator import canonical, from_locator

CHUNK = 1024 * 1024


class ByteReader(Protocol):
    """Reads up to ``size`` bytes at ``offset`` (fewer at the end of the stream)."""

    def read_at(self, offset: int, size: int) -> bytes: ...

    @property
    def size(self) -> int: ...


class ReadError(Exception):
    """The stream could not be read at some offset (a bad sector, a missing segment)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(f"read failed at stream offset {offset}: {message}")
        self.offset = offset


class FileObjectReader:
    """Reads through a dfvfs file object (any container dfvfs opens: EWF, QCOW, BDE...)."""

    def __init__(self, file_object) -> None:
        self._file = file_object
        self._size = int(file_object.get_size())

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self._size or size <= 0:
            return b""
        try:
            self._file.seek(offset, os.SEEK_SET)
            return self._file.read(min(size, self._size - offset))
        except (OSError, IOError, RuntimeError, dfvfs_errors.Error) as exc:
            raise ReadError(offset, str(exc)) from exc


class PreadReader:
    """A plain image file read with ``os.pread`` (the fast path for single-file raw images)."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._size = os.fstat(self._fd).st_size

    @property
    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, size: int) -> bytes:
        if offset >= self._size or size <= 0:
            return b""
        try:
            return os.pread(self._fd, min(size, self._size - offset), offset)
        except OSError as exc:
            raise ReadError(offset, str(exc)) from exc

    def close(self) -> None:
        os.close(self._fd)


def open_reader(locator: str) -> ByteReader:
    """A reader for the bytes a locator names; a raw single-file image is read directly."""
    spec = from_locator(locator)
    parent = spec.parent
    if (spec.type_indicator == definitions.TYPE_INDICATOR_RAW and parent is not None
            and parent.type_indicator == definitions.TYPE_INDICATOR_OS and parent.parent is None):
        path = parent.location
        # split raw (name.000, name.001 ...) goes through dfvfs, which joins the segments
        if not path.rsplit(".", 1)[-1].isdigit():
            return PreadReader(path)
    if spec.type_indicator == definitions.TYPE_INDICATOR_OS:
        return PreadReader(spec.location)
    return FileObjectReader(resolver.Resolver.OpenFileObject(spec))


def close_reader(reader: ByteReader) -> None:
    """Releases what ``open_reader`` opened (dfvfs file objects are left to dfvfs's cache)."""
    close = getattr(reader, "close", None)
    if close is not None:
        close()


class BytesReader:
    """An in-memory stream (tests, and carving a file already read)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    @property
    def size(self) -> int:
        return len(self._data)

    def read_at(self, offset: int, size: int) -> bytes:
        return self._data[offset:offset + size] if size > 0 else b""


class StreamReader:
    """Reads the bytes a locator names; keeps TSK file systems open between calls."""

    def __init__(self, credentials: Credentials = ()) -> None:
        self._volumes: dict[str, tsk.TSKVolume] = {}
        self._credentials = tuple(credentials)
        self._last: tuple[dict, tsk.TSKVolume] | None = None     # consecutive items share their volume

    def chunks(self, locator: str, chunk: int = CHUNK) -> Iterator[bytes]:
        apply_credentials(locator, self._credentials)
        obj = json.loads(locator)
        if obj.get("type_indicator") == definitions.TYPE_INDICATOR_TSK and obj.get("inode") is not None:
            yield from self._tsk_chunks(obj, chunk)
        else:
            yield from self._dfvfs_chunks(locator, chunk)

    def _volume(self, parent: dict) -> tsk.TSKVolume:
        if self._last is not None and self._last[0] == parent:   # a dict compare, not the canonical JSON
            return self._last[1]
        key = canonical(parent)
        if key not in self._volumes:
            try:
                self._volumes[key] = tsk.TSKVolume(from_locator(key))
            except FileSystemOpenError as exc:
                raise ItemError(str(exc)) from exc
        self._last = (parent, self._volumes[key])
        return self._volumes[key]

    def _tsk_chunks(self, obj: dict, chunk: int) -> Iterator[bytes]:
        volume = self._volume(obj["parent"])
        try:
            tsk_file = volume.open_meta(int(obj["inode"]))
            stream = obj.get("data_stream") or ""
            found = tsk.find_attribute(tsk_file, stream) if stream else None
            if stream and found is None:
                raise ItemError(f"data stream {stream!r} not found")
            size = found[2] if found else int(tsk_file.info.meta.size)
            offset = 0
            while offset < size:
                want = min(chunk, size - offset)
                data = tsk_file.read_random(offset, want, found[0], found[1]) if found else \
                    tsk_file.read_random(offset, want)
                if not data:
                    return  # no data runs (e.g. NTFS $BadClus:$Bad): what icat prints too; caller sees the short size
                offset += len(data)
                yield data
        except (OSError, IOError, RuntimeError) as exc:
            raise ItemError(f"TSK read failed: {exc}") from exc

    def _dfvfs_chunks(self, locator: str, chunk: int) -> Iterator[bytes]:
        try:
            file_object = resolver.Resolver.OpenFileObject(from_locator(locator))
            while True:
                data = file_object.read(chunk)
                if not data:
                    return
                yield data
        except (dfvfs_errors.BackEndError, dfvfs_errors.PathSpecError, OSError, RuntimeError) as exc:
            raise ItemError(f"dfvfs read failed: {exc}") from exc
