"""The streaming scanner: windows over a range, header search, validation, hashing.

A range is read in windows of ``ScanOptions.window`` bytes (plus a few KiB of overlap so
a header straddling two windows is seen once). Headers are found with ``bytes.find``
per literal signature (memchr-fast in C) and one regex for the carvers that need one;
each candidate is validated through a ``WindowReader`` that serves the window's bytes
without copying and reads anything else in bounded chunks. A validated object is
hashed (MD5, SHA-1, SHA-256) while it is streamed to the sink, window-sized pieces at a
time. Memory use is therefore about two windows, whatever the size of the range.

Hostile input is bounded: at most ``max_headers_per_mib`` candidates per signature per
MiB are validated (the rest are counted and reported in a ``CarveWarning``), and the
validations of one window stop after ``window_seconds``.
"""
from __future__ import annotations

import hashlib
import re
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from forensics.carving.formats.base import MIB, Carver, Extent
from forensics.carving.models import CarvedObject, CarveRange, CarveWarning
from forensics.carving.reader import BudgetExceeded, WindowReader
from forensics.reader import ByteReader, ReadError
from forensics.carving.sink import ArtifactSink

OVERLAP = 4096
Found = CarvedObject | CarveWarning
VALIDATOR_ERRORS = (struct.error, ValueError, IndexError, OverflowError, ZeroDivisionError, UnicodeError)


@dataclass(frozen=True)
class ScanOptions:
    window: int = 8 * MIB
    max_headers_per_mib: int = 512
    window_seconds: float = 30.0
    report_embedded: bool = True        # objects inside complete objects (thumbnails, zip members)
    report_partial: bool = True


@dataclass
class _Active:
    start: int
    end: int
    carver: Carver
    complete: bool


def carve_range(reader: ByteReader, carve_range: CarveRange, sink: ArtifactSink | None = None, *,
                carvers: Sequence[Carver] | None = None,
                options: ScanOptions = ScanOptions()) -> Iterator[Found]:
    """Yields every object (and warning) whose header lies in ``carve_range``."""
    if carvers is None:
        from forensics.carving import CARVERS
        carvers = CARVERS
    rng = carve_range
    limit = min(rng.limit, reader.size)
    window_reader = WindowReader(reader, limit)
    literals = [(sig, carver) for carver in carvers for sig in carver.signatures]
    patterns = [(re.compile(carver.pattern, re.DOTALL), carver) for carver in carvers if carver.pattern]
    active: list[_Active] = []
    pos, end = rng.offset, min(rng.end, reader.size)
    while pos < end:
        length = min(options.window, end - pos)
        try:
            data = reader.read_at(pos, length + max(0, min(OVERLAP, limit - pos - length)))
        except ReadError as exc:
            yield _warning(rng, pos, f"window of {length} bytes unreadable, skipped: {exc}", "read-error")
            pos += length
            continue
        if not data:
            break
        window_reader.set_window(pos, data)
        hits, floods = _find_headers(data, min(length, len(data)), literals, patterns, options.max_headers_per_mib)
        for carver, bucket, skipped in floods:
            yield _warning(rng, pos + bucket, f"{skipped} more {carver.name} headers in the MiB at stream offset "
                           f"{pos + bucket} were not validated (more than {options.max_headers_per_mib} per MiB)",
                           "header-flood")
        window_reader.deadline = time.monotonic() + options.window_seconds
        for index, (rel, _, carver) in enumerate(hits):
            at = pos + rel
            active = [a for a in active if a.end > at]
            if any(a.start < at and carver.name in a.carver.contains for a in active):
                continue                          # inner structure of an object already carved
            container = next((a for a in active if a.start < at and a.complete), None)
            if container is not None and not options.report_embedded:
                continue
            if time.monotonic() > window_reader.deadline:
                yield _budget_warning(rng, at, pos, length, len(hits) - index, options)
                break
            try:
                extent = carver.validate(window_reader, at, min(limit, at + carver.max_size))
            except BudgetExceeded:
                yield _budget_warning(rng, at, pos, length, len(hits) - index, options)
                break
            except ReadError as exc:
                yield _warning(rng, at, f"{carver.name} candidate unreadable: {exc}", "read-error")
                continue
            except VALIDATOR_ERRORS as exc:
                yield _warning(rng, at, f"{carver.name} validator failed on this candidate: {exc!r}", "validator-error")
                continue
            if extent is None or extent.length <= 0 or (extent.status != "complete" and not options.report_partial):
                continue
            try:
                found = _emit(reader, data, pos, rng, carver, at, extent, sink, options.window,
                              container.start if container else None)
            except ReadError as exc:
                yield _warning(rng, at, f"{carver.name} object unreadable while storing it: {exc}", "read-error")
                continue
            yield found
            active.append(_Active(at, at + extent.length, carver, extent.status == "complete"))
        pos += length


def _find_headers(data: bytes, length: int, literals: list[tuple[bytes, Carver]],
                  patterns: list[tuple[re.Pattern[bytes], Carver]], cap: int
                  ) -> tuple[list[tuple[int, int, Carver]], list[tuple[Carver, int, int]]]:
    """Candidate (offset, carver order, carver) in the window, capped per signature per MiB."""
    hits: list[tuple[int, int, Carver]] = []
    floods: list[tuple[Carver, int, int]] = []
    order = {id(c): n for n, (_, c) in enumerate(literals + patterns)}
    for sig, carver in literals:
        stop = min(len(data), length + len(sig) - 1)
        bucket_end, count = MIB, 0
        at = data.find(sig, 0, stop)
        while at >= 0:
            if at >= bucket_end:
                bucket_end, count = (at // MIB + 1) * MIB, 0
            if count == cap:
                bucket = bucket_end - MIB
                skipped = data.count(sig, at, min(bucket_end + len(sig) - 1, stop))
                floods.append((carver, bucket, skipped))
                at = data.find(sig, bucket_end, stop)
                continue
            hits.append((at, order[id(carver)], carver))
            count += 1
            at = data.find(sig, at + 1, stop)
    for pattern, carver in patterns:
        bucket_end, count = MIB, 0
        for match in pattern.finditer(data, 0, min(len(data), length + 64)):
            at = match.start()
            if at >= length:
                break
            if at >= bucket_end:
                bucket_end, count = (at // MIB + 1) * MIB, 0
            if count == cap:
                continue
            hits.append((at, order[id(carver)], carver))
            count += 1
    hits.sort(key=lambda hit: (hit[0], hit[1]))
    return hits, floods


def _emit(reader: ByteReader, data: bytes, window_start: int, rng: CarveRange, carver: Carver, at: int,
          extent: Extent, sink: ArtifactSink | None, piece: int, embedded_in: int | None) -> CarvedObject:
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    writer = sink.open() if sink is not None else None
    view = memoryview(data)
    pos, end = at, at + extent.length
    try:
        while pos < end:
            size = min(piece, end - pos)
            rel = pos - window_start
            if 0 <= rel and rel + size <= len(data):
                chunk: bytes | memoryview = view[rel:rel + size]
            else:
                chunk = reader.read_at(pos, size)
                if not chunk:
                    raise ReadError(pos, "no bytes where the validator saw some")
            md5.update(chunk)
            sha1.update(chunk)
            sha256.update(chunk)
            if writer is not None:
                writer.write(chunk)
            pos += len(chunk)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    digest = sha256.hexdigest()
    stored = writer.commit(digest) if writer is not None else ""
    image_at = rng.to_image(at)
    note = extent.note
    if embedded_in is not None:
        note = (note + "; " if note else "") + f"inside the object at stream offset {embedded_in}"
    return CarvedObject(
        format=extent.format or carver.name, extension=extent.extension or carver.extensions[0],
        carver=carver.name, carver_version=carver.version, locator=rng.locator, offset=at,
        size=extent.length, image_ranges=((image_at, extent.length),) if image_at is not None else (),
        sha256=digest, md5=md5.hexdigest(), sha1=sha1.hexdigest(), status=extent.status, note=note,
        source=rng.source, volume_path=rng.volume_path, fs_locator=rng.fs_locator,
        embedded_in=embedded_in, stored_as=stored)


def _warning(rng: CarveRange, at: int, message: str, kind: str) -> CarveWarning:
    return CarveWarning(image_offset=rng.to_image(at), message=message, kind=kind, locator=rng.locator, offset=at)


def _budget_warning(rng: CarveRange, at: int, pos: int, length: int, left: int, options: ScanOptions) -> CarveWarning:
    return _warning(rng, at, f"validation time budget ({options.window_seconds:g} s) spent in the window "
                    f"[{pos}, {pos + length}): {left} candidates from stream offset {at} on were skipped",
                    "time-budget")
