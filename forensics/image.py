"""Opening an evidence source read-only: format, segments, media hashes.

dfvfs identifies the storage-media layer (raw, split raw, EWF, QCOW, VHD/VHDX,
VMDK); the bytes hashed are that layer's logical media, so an E01's hash can be
compared with the MD5/SHA-1 that the acquisition tool stored inside it.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions, errors as dfvfs_errors
from dfvfs.lib import ewf_helper, raw_helper
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import resolver

from forensics.errors import ImageError
from forensics.locator import os_path_spec, to_locator, from_locator
from forensics.mbr import MbrEntry, truncated_partitions
from forensics.models import MediaDigest, SourceInfo

CHUNK = 4 * 1024 * 1024
STORAGE_MEDIA_TYPES = {
    definitions.TYPE_INDICATOR_RAW: "raw",
    definitions.TYPE_INDICATOR_EWF: "ewf",
    definitions.TYPE_INDICATOR_QCOW: "qcow",
    definitions.TYPE_INDICATOR_VHDI: "vhd",
    definitions.TYPE_INDICATOR_VMDK: "vmdk",
    definitions.TYPE_INDICATOR_MODI: "dmg",
    definitions.TYPE_INDICATOR_PHDI: "phdi",
}
Credentials = Sequence[tuple[str, str]]


def summarize_backend_error(message: str) -> str:
    """The one clause of a libyal/TSK error chain a technician needs."""
    text = message.strip().strip("'\"")
    match = re.search(r"missing segment file for offset: (\d+)", text)
    if match:
        return f"a segment file is missing (no segment holds media offset {match.group(1)})"
    if "pybde" in text:
        return "BitLocker volume cannot be opened (its metadata is unreadable or the volume is damaged)"
    if "pyluksde" in text:
        return "LUKS volume cannot be opened"
    first = re.split(r"(?<=\.) |: unable to", text)[0]
    return first[:200]


def classify_backend_error(message: str) -> str:
    """Maps a libyal/TSK error text to an ImageError kind."""
    text = message.lower()
    if "missing segment" in text:
        return "missing-segment"
    if any(k in text for k in ("pybde", "pyfvde", "pyluksde", "encrypt")):
        return "encrypted"
    if "unable to read" in text or "truncat" in text or "beyond" in text:
        return "truncated"
    return "unreadable"


def scan_source(path: str, credentials: Credentials = ()) -> source_scanner.SourceScannerContext:
    """Runs dfvfs's source scanner over the whole image, unlocking what it can."""
    if not os.path.exists(path):
        raise ImageError("not-found", f"no such file: {path}")
    if not os.path.isfile(path):
        raise ImageError("unknown-format", f"not a regular file: {path}")
    scanner = source_scanner.SourceScanner()
    context = source_scanner.SourceScannerContext()
    context.AddScanNode(os_path_spec(os.path.abspath(path)), None)
    try:
        scanner.Scan(context)
        _unlock_all(scanner, context, credentials)
    except (dfvfs_errors.BackEndError, dfvfs_errors.ScannerError, RuntimeError, OSError,
            IOError, ValueError) as exc:
        kind = classify_backend_error(str(exc))
        raise ImageError(kind, f"cannot scan {os.path.basename(path)}: {summarize_backend_error(str(exc))}",
                         detail=str(exc)) from exc
    if context.source_type not in (
        definitions.SOURCE_TYPE_STORAGE_MEDIA_IMAGE,
        definitions.SOURCE_TYPE_STORAGE_MEDIA_DEVICE,
    ) and not truncated_mbr(path):
        from forensics.sniff import describe

        seen = describe(path)
        raise ImageError(
            "unknown-format",
            f"{os.path.basename(path)} is not a disk image dfvfs recognizes "
            "(no storage-media format, volume system or file system found)"
            + (f"; its first sectors hold {seen}" if seen else ""),
        )
    return context


def truncated_mbr(path: str) -> list[MbrEntry] | None:
    """MBR primary entries of a raw image whose partitions run past its end."""
    with open(path, "rb") as handle:
        boot_sector = handle.read(512)
    return truncated_partitions(boot_sector, os.path.getsize(path))


def raw_path_spec(path: str):
    return path_spec_factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_RAW, parent=os_path_spec(os.path.abspath(path)))


def _unlock_all(scanner: source_scanner.SourceScanner, context: source_scanner.SourceScannerContext,
                credentials: Credentials) -> None:
    for node in list(context.locked_scan_nodes):
        path_spec = node.path_spec
        for kind, data in credentials:
            try:
                if scanner.Unlock(context, path_spec, kind, data):
                    scanner.Scan(context, scan_path_spec=path_spec)
                    break
            except dfvfs_errors.BackEndError:
                continue


ENCRYPTED_TYPES = (definitions.TYPE_INDICATOR_BDE, definitions.TYPE_INDICATOR_LUKSDE,
                   definitions.TYPE_INDICATOR_CS)


def apply_credentials(locator: str, credentials: Credentials) -> None:
    """Puts the credentials on dfvfs's key chain for every encrypted layer under ``locator``.

    Each process (an Airflow task, a CLI run) must do this before reopening bytes
    inside an encrypted volume; dfvfs keeps unlocked keys per process only.
    """
    if not credentials:
        return
    spec = from_locator(locator)
    while spec is not None:
        if spec.type_indicator in ENCRYPTED_TYPES:
            for kind, data in credentials:
                resolver.Resolver.key_chain.SetCredential(spec, kind, data)
        spec = spec.parent


def media_path_spec(context: source_scanner.SourceScannerContext, path: str):
    """Path spec of the storage-media layer (a bare RAW one for a truncated MBR disk)."""
    node = context.GetRootScanNode()
    if node.sub_nodes and node.sub_nodes[0].type_indicator in STORAGE_MEDIA_TYPES:
        return node.sub_nodes[0].path_spec
    return raw_path_spec(path)


def list_segments(path: str, image_type: str) -> tuple[str, ...]:
    """Every file that makes up the image (split raw and EWF segments)."""
    spec = os_path_spec(os.path.abspath(path))
    file_system = resolver.Resolver.OpenFileSystem(spec)
    if image_type == definitions.TYPE_INDICATOR_EWF:
        ewf = path_spec_factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_EWF, parent=spec)
        specs = ewf_helper.EWFGlobPathSpec(file_system, ewf)
    elif image_type == definitions.TYPE_INDICATOR_RAW:
        specs = raw_helper.RawGlobPathSpec(file_system, raw_path_spec(path)) or [spec]
    else:
        specs = [spec]
    return tuple(s.location for s in specs)


def stored_hashes(segments: Sequence[str]) -> dict[str, str]:
    """Hashes recorded inside an EWF image by the acquisition tool."""
    import pyewf

    handle = pyewf.handle()
    try:
        handle.open(list(segments))
        values = handle.get_hash_values() or {}
    finally:
        handle.close()
    return {k.lower().replace("-", ""): v.lower() for k, v in values.items() if v}


def inspect_source(path: str, credentials: Credentials = ()) -> SourceInfo:
    """Identifies format and segments and reads the media size; hashes nothing."""
    try:
        media_spec = media_path_spec(scan_source(path, credentials), path)
    except ImageError as exc:
        if exc.kind != "encrypted":
            raise
        media_spec = raw_path_spec(path)  # the volume stays locked; the media is still hashed
    image_type = media_spec.type_indicator
    segments = list_segments(path, image_type)
    try:
        file_object = resolver.Resolver.OpenFileObject(media_spec)
        size = file_object.get_size()
    except (dfvfs_errors.BackEndError, OSError, RuntimeError) as exc:
        raise ImageError(classify_backend_error(str(exc)), f"cannot open media of {path}: "
                         f"{summarize_backend_error(str(exc))}", detail=str(exc)) from exc
    stored = stored_hashes(segments) if image_type == definitions.TYPE_INDICATOR_EWF else {}
    return SourceInfo(
        path=os.path.abspath(path),
        image_format=STORAGE_MEDIA_TYPES[image_type],
        segments=segments,
        media_size=size,
        media_locator=to_locator(media_spec),
        stored_hashes=stored,
    )


def hash_file(path: str, progress: Callable[[int], None] | None = None) -> MediaDigest:
    """MD5, SHA-1 and SHA-256 of a file's own bytes (what was received, when no format is recognized)."""
    digests = [hashlib.md5(), hashlib.sha1(), hashlib.sha256()]
    total = 0
    with open(path, "rb") as handle:
        while data := handle.read(CHUNK):
            for digest in digests:
                digest.update(data)
            total += len(data)
            if progress:
                progress(len(data))
    md5, sha1, sha256 = (d.hexdigest() for d in digests)
    return MediaDigest(size=total, md5=md5, sha1=sha1, sha256=sha256)


def hash_media(info: SourceInfo, progress: Callable[[int], None] | None = None,
               algorithms: tuple[str, ...] = ("md5", "sha1", "sha256")) -> MediaDigest:
    """Hashes of the whole media in one sequential read (MD5, SHA-1 and SHA-256 by default).

    The end-of-run integrity check asks for SHA-256 alone: it is compared with intake's.
    """
    digests = {name: hashlib.new(name) for name in algorithms}
    total = 0
    # hashlib releases the GIL on large updates: each digest runs in its own thread while the next
    # chunk is read, so three digests take about the time of the slowest on several cores
    pool = ThreadPoolExecutor(max_workers=len(digests), thread_name_prefix="media-hash")
    pending: list = []
    try:
        file_object = resolver.Resolver.OpenFileObject(from_locator(info.media_locator))
        file_object.seek(0, os.SEEK_SET)
        while total < info.media_size:
            data = file_object.read(min(CHUNK, info.media_size - total))
            if not data:
                break
            for future in pending:
                future.result()
            pending = [pool.submit(digest.update, data) for digest in digests.values()]
            total += len(data)
            if progress:
                progress(len(data))
        for future in pending:
            future.result()
    except (dfvfs_errors.BackEndError, OSError, RuntimeError) as exc:
        raise ImageError(
            classify_backend_error(str(exc)),
            f"read failed at media offset {total} of {info.path}: {summarize_backend_error(str(exc))}",
            detail=str(exc),
        ) from exc
    finally:
        pool.shutdown(wait=True)
    if total != info.media_size:
        raise ImageError(
            "truncated", f"{info.path}: media is {info.media_size} bytes but only {total} could be read"
        )
    hexes = {name: digest.hexdigest() for name, digest in digests.items()}
    return MediaDigest(size=total, md5=hexes.get("md5", ""), sha1=hexes.get("sha1", ""),
                       sha256=hexes.get("sha256", ""))
