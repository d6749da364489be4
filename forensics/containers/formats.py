"""ZIP, TAR, GZIP, BZIP2 and XZ: listed with Python's own readers, members named by dfvfs path specs.

A member whose name cannot be a dfvfs location (absolute, ``..``, a duplicate of an earlier name),
or that is encrypted and opens with a ``--credential`` password, is copied into the store instead.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone

from dfvfs.lib import definitions

from forensics.containers import Member
from forensics.containers.context import Context, odd_name
from forensics.containers.source import TooLarge, buffered, store
from forensics.locator import canonical

CHUNK = 1 << 20


def _child(parent: str, type_indicator: str, **attributes) -> str:
    import json

    obj = {"__type__": "PathSpec", "type_indicator": type_indicator, **attributes, "parent": json.loads(parent)}
    return canonical(obj)


def _blocks(handle) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


# --- ZIP -----------------------------------------------------------------------------------------

def zip_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    try:
        archive = zipfile.ZipFile(buffered(locator))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        yield f"not readable as ZIP ({exc}); reading its local headers with libarchive instead"
        from forensics.containers.libarchive_formats import archive_members

        yield from archive_members(locator, ctx, format_name="zip")
        return
    repeated = _repeated(info.filename for info in archive.infolist())
    with archive:
        for count, info in enumerate(archive.infolist()):
            if stop := ctx.stop(count, info.filename):
                yield stop
                return
            if info.is_dir():
                continue
            name = info.filename
            when = _zip_time(info)
            refused = ctx.admit(name, info.file_size, info.compress_size)
            if refused:
                yield refused
                continue
            why = odd_name(name) or ("shares its name with another member (a path spec would name only the "
                                     "last one)" if name in repeated else None)
            encrypted = bool(info.flag_bits & 0x1)
            if not why and not encrypted:
                yield Member(name, info.file_size, _child(locator, definitions.TYPE_INDICATOR_ZIP, location="/" + name),
                             when)
                continue
            if why:
                yield f"member {name!r} {why}; its content was copied into the case store (nothing is written " \
                      "under that name)"
            yield _zip_copy(archive, info, ctx, when, encrypted)


def _zip_copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, ctx: Context, when, encrypted: bool) -> Member | str:
    for number, password in enumerate((None,) if not encrypted else ctx.passwords, 1):
        try:
            with archive.open(info, pwd=password.encode() if password else None) as handle:
                stored, size = store(ctx.sink, _blocks(handle), ctx.remaining())
            note = f"decrypted with --credential password #{number}" if encrypted else ""
            return Member(info.filename, size, stored, when, encrypted=encrypted, note=note)
        except RuntimeError as exc:                     # zipfile: "Bad password for file"
            if "password" not in str(exc).lower():
                return f"member {info.filename!r}: {exc}"
        except NotImplementedError as exc:              # AES (WinZip) encryption, unsupported methods
            return f"member {info.filename!r}: {exc}; recorded without content"
        except TooLarge:
            return f"member {info.filename!r}: grew past {ctx.remaining():,} bytes while copied; not expanded"
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            return f"member {info.filename!r} is damaged: {exc}"
    tried = f"none of the {len(ctx.passwords)} --credential passwords opens it" if ctx.passwords else \
        "no password given (--credential password:...)"
    return Member(info.filename, info.file_size, None, _zip_time(info), encrypted=True,
                  note=f"encrypted; {tried}")


def _repeated(names) -> set[str]:
    seen, repeated = set(), set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    return repeated


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=timezone.utc)
    except ValueError:
        return None


# --- TAR -----------------------------------------------------------------------------------------

def tar_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    try:
        archive = tarfile.open(fileobj=buffered(locator), mode="r:")
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield f"not readable as TAR: {exc}"
        return
    count = 0
    with archive:
        try:
            repeated = _repeated(info.name for _, info in zip(range(ctx.limits.max_members * 2), archive)
                                 if info.isfile())
            for info in archive:
                if not info.isfile():
                    continue
                if stop := ctx.stop(count, info.name):
                    yield stop
                    return
                count += 1
                refused = ctx.admit(info.name, info.size, None)
                if refused:
                    yield refused
                    continue
                when = datetime.fromtimestamp(info.mtime, timezone.utc) if info.mtime else None
                why = odd_name(info.name) or ("shares its name with another member (a path spec would name only "
                                              "the last one)" if info.name in repeated else None)
                if not why:
                    yield Member(info.name, info.size,
                                 _child(locator, definitions.TYPE_INDICATOR_TAR, location="/" + info.name), when)
                    continue
                yield f"member {info.name!r} {why}; its content was copied into the case store (nothing is " \
                      "written under that name)"
                try:
                    stored, size = store(ctx.sink, _blocks(archive.extractfile(info)), ctx.remaining())
                    yield Member(info.name, size, stored, when)
                except TooLarge:
                    yield f"member {info.name!r}: grew past its byte limit while copied; not expanded"
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield f"listing stopped after {count} members: {exc}"


# --- GZIP, BZIP2, XZ -----------------------------------------------------------------------------

_SUFFIXES = {"gzip": (".gz", ".tgz", ".z"), "bzip2": (".bz2", ".tbz2", ".tbz"), "xz": (".xz", ".txz")}
_OPENERS = {"gzip": lambda source: gzip.GzipFile(fileobj=source), "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}


def gzip_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    yield from _compressed("gzip", locator, ctx, name)


def bzip2_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    yield from _compressed("bzip2", locator, ctx, name)


def xz_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    yield from _compressed("xz", locator, ctx, name)


def _compressed(method: str, locator: str, ctx: Context, container_name: str) -> Iterator[Member | str]:
    """One member: the decompressed stream, measured first (a bomb is refused before anything reads it)."""
    source = buffered(locator)
    compressed = source.raw.size
    member = _inner_name(method, source, container_name)
    limit = max(ctx.limits.max_member_bytes, 0)
    size = 0
    try:
        with _OPENERS[method](source) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit or (size > ctx.limits.ratio_floor and size > ctx.limits.max_ratio * max(compressed, 1)):
                    yield (f"{member}: more than {size:,} bytes from {compressed:,} compressed (member or ratio "
                           f"limit, a decompression bomb?); not expanded")
                    return
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        yield f"corrupt {method} stream after {size:,} decompressed bytes: {exc}; not expanded"
        return
    refused = ctx.admit(member, size, compressed)
    if refused:
        yield refused
        return
    if method == "gzip":
        child = _child(locator, definitions.TYPE_INDICATOR_GZIP)
    else:
        child = _child(locator, definitions.TYPE_INDICATOR_COMPRESSED_STREAM, compression_method=method)
    yield Member(member, size, child)


def _inner_name(method: str, source, container_name: str) -> str:
    if method == "gzip":
        original = _gzip_original_name(source)
        if original:
            return original
    base = container_name.rsplit("/", 1)[-1]
    lower = base.lower()
    for suffix in _SUFFIXES[method]:
        if lower.endswith(suffix) and len(base) > len(suffix):
            stem = base[:-len(suffix)]
            return stem + ".tar" if suffix.startswith(".t") else stem
    return (base or method) + ".out"


def _gzip_original_name(source) -> str | None:
    """The FNAME field of the gzip header (RFC 1952, 2.3.1), when the compressor kept it."""
    source.seek(0)
    header = source.read(10)
    if len(header) < 10 or header[:2] != b"\x1f\x8b" or not header[3] & 0x08:
        source.seek(0)
        return None
    if header[3] & 0x04:                                        # FEXTRA
        (length,) = struct.unpack("<H", source.read(2))
        source.read(length)
    name = bytearray()
    while (byte := source.read(1)) not in (b"", b"\x00") and len(name) < 1024:
        name += byte
    source.seek(0)
    text = name.decode("latin-1").replace("\\", "/").rsplit("/", 1)[-1]
    return text or None
