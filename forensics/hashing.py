"""Reading data streams by locator and digesting them in a single pass."""
from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator

from dfvfs.lib import definitions, errors as dfvfs_errors
from dfvfs.resolver import resolver

from forensics import tsk
from forensics.errors import FileSystemOpenError, ItemError
from forensics.filetype import TypeIdentifier, extension_mismatch
from forensics.image import Credentials, apply_credentials
from forensics.locator import canonical, from_locator
from forensics.models import ContentDigest

CHUNK = 1024 * 1024
MAGIC_BYTES = 256 * 1024


class StreamReader:
    """Reads the bytes a locator names; keeps TSK file systems open between calls."""

    def __init__(self, credentials: Credentials = ()) -> None:
        self._volumes: dict[str, tsk.TSKVolume] = {}
        self._credentials = tuple(credentials)

    def chunks(self, locator: str, chunk: int = CHUNK) -> Iterator[bytes]:
        apply_credentials(locator, self._credentials)
        obj = json.loads(locator)
        if obj.get("type_indicator") == definitions.TYPE_INDICATOR_TSK and obj.get("inode") is not None:
            yield from self._tsk_chunks(obj, chunk)
        else:
            yield from self._dfvfs_chunks(locator, chunk)

    def _volume(self, parent: dict) -> tsk.TSKVolume:
        key = canonical(parent)
        if key not in self._volumes:
            try:
                self._volumes[key] = tsk.TSKVolume(from_locator(key))
            except FileSystemOpenError as exc:
                raise ItemError(str(exc)) from exc
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


class Digester:
    """MD5, SHA-1, SHA-256 and libmagic type of a stream, in one read."""

    def __init__(self, reader: StreamReader | None = None) -> None:
        self.reader = reader or StreamReader()
        self.types = TypeIdentifier()

    def digest(self, locator: str, path: str) -> ContentDigest:
        md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
        head = bytearray()
        size = 0
        for data in self.reader.chunks(locator):
            md5.update(data)
            sha1.update(data)
            sha256.update(data)
            if len(head) < MAGIC_BYTES:
                head += data[: MAGIC_BYTES - len(head)]
            size += len(data)
        sha256_hex = sha256.hexdigest()
        mime, description = self.types.identify_digest(sha256_hex, lambda: bytes(head))
        return ContentDigest(size=size, md5=md5.hexdigest(), sha1=sha1.hexdigest(), sha256=sha256_hex,
                             mime_type=mime, description=description,
                             extension_mismatch=extension_mismatch(posixpath.basename(path), mime))
