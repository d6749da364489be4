"""Volume and file-system discovery over dfvfs's scan tree.

Every partition (MBR, GPT, APM via TSK), LVM logical volume and APFS container
volume becomes a record; encrypted volumes that stay locked are reported as such
rather than skipped, and VSS snapshots are listed (not walked).
"""
from __future__ import annotations

from collections.abc import Iterator

from dfvfs.helpers import source_scanner
from dfvfs.lib import definitions, errors as dfvfs_errors
from dfvfs.resolver import resolver
from dfvfs.volume import factory as volume_system_factory

import os

from dfvfs.path import factory as path_spec_factory

from forensics.errors import ImageError
from forensics.image import Credentials, raw_path_spec, scan_source, truncated_mbr
from forensics.locator import to_locator
from forensics.models import VolumeRecord

VOLUME_SYSTEMS = (
    definitions.TYPE_INDICATOR_TSK_PARTITION,
    definitions.TYPE_INDICATOR_GPT,
    definitions.TYPE_INDICATOR_APM,
    definitions.TYPE_INDICATOR_LVM,
    definitions.TYPE_INDICATOR_APFS_CONTAINER,
    definitions.TYPE_INDICATOR_CS,
)


def scan_volumes(path: str, credentials: Credentials = ()) -> Iterator[VolumeRecord]:
    """Yields every volume/file system in the image at ``path``."""
    try:
        context = scan_source(path, credentials)
    except ImageError as exc:
        if exc.kind != "encrypted":
            raise
        yield from _unopenable_encrypted(path, exc)
        return
    if context.source_type == definitions.SOURCE_TYPE_FILE:
        found = list(_truncated_volumes(path))
        media = raw_path_spec(path)
    else:
        found = list(_visit(context, context.GetRootScanNode(), "/", None, {}, _media_size(context)))
        root = context.GetRootScanNode()
        media = root.sub_nodes[0].path_spec if root.sub_nodes else raw_path_spec(path)
    yield from found
    if found and not any(v.kind in ("filesystem", "encrypted") for v in found):
        yield from _file_system_at_offset_zero(media, found)


def _file_system_at_offset_zero(media, partitions: list[VolumeRecord]) -> Iterator[VolumeRecord]:
    """A first sector can be a file system's boot sector and an MBR at once (both end in 55 AA): when
    the table's entries hold no file system or lie outside the image, the file system at offset 0 is
    what fls reads, so it is walked too, and its note says which reading was used."""
    from forensics.errors import FileSystemOpenError
    from forensics.tsk import TSKVolume

    try:
        fs_type = TSKVolume(media).fs_type
    except FileSystemOpenError:
        return
    spec = path_spec_factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_TSK, location="/", parent=media)
    tables = sorted({v.volume_system or "partition table" for v in partitions})
    yield VolumeRecord(
        locator=to_locator(spec), volume_path="/", kind="filesystem", volume_system=None, offset=0, size=None,
        fs_type=fs_type.upper(),
        note=(f"the first sector reads both as a {fs_type.upper()} boot sector and as a {', '.join(tables)} table "
              f"({len(partitions)} entr{'y' if len(partitions) == 1 else 'ies'}, none holding a file system inside "
              "the image); the file system at offset 0 was walked, as fls does"))


def _unopenable_encrypted(path: str, error: ImageError) -> Iterator[VolumeRecord]:
    """An encrypted volume dfvfs cannot open, and whatever TSK reads beside it.

    BitLocker To Go, for one, keeps a readable FAT32 "discovery volume" at offset 0
    that TSK walks even when the encrypted part is damaged or its key is unknown.
    """
    media = raw_path_spec(path)
    yield VolumeRecord(locator=to_locator(media), volume_path="/", kind="encrypted", volume_system=None,
                       offset=0, size=os.path.getsize(path), fs_type=None, note=error.message)
    from forensics.tsk import TSKVolume
    from forensics.errors import FileSystemOpenError

    try:
        fs_type = TSKVolume(media).fs_type
    except FileSystemOpenError:
        return
    plain = path_spec_factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_TSK, location="/", parent=media)
    yield VolumeRecord(locator=to_locator(plain), volume_path="/", kind="filesystem", volume_system=None,
                       offset=0, size=os.path.getsize(path), fs_type=fs_type.upper(),
                       note="unencrypted file system readable beside the encrypted volume")


def _truncated_volumes(path: str) -> Iterator[VolumeRecord]:
    """Partitions of a truncated MBR disk, clipped to the bytes that exist."""
    media = raw_path_spec(path)
    media_size = os.path.getsize(path)
    scanner = source_scanner.SourceScanner()
    for entry in truncated_mbr(path) or ():
        note = (f"MBR partition {entry.number} (type 0x{entry.type_code:02x}) spans bytes {entry.offset}-"
                f"{entry.offset + entry.size} but the image has {media_size}: truncated image, "
                "read from the MBR entry directly")
        if entry.offset >= media_size:
            stated = path_spec_factory.Factory.NewPathSpec(
                definitions.TYPE_INDICATOR_DATA_RANGE, range_offset=entry.offset, range_size=entry.size,
                parent=media)
            yield VolumeRecord(locator=to_locator(stated), volume_path=f"/p{entry.number}",
                               kind="missing", volume_system="MBR", offset=entry.offset, size=entry.size,
                               fs_type=None, note=note + "; nothing of it is present")
            continue
        size = min(entry.size, media_size - entry.offset)
        spec = path_spec_factory.Factory.NewPathSpec(
            definitions.TYPE_INDICATOR_DATA_RANGE, range_offset=entry.offset, range_size=size, parent=media)
        try:
            fs_spec = scanner.ScanForFileSystem(spec)
        except dfvfs_errors.BackEndError:
            fs_spec = None
        yield VolumeRecord(
            locator=to_locator(fs_spec or spec), volume_path=f"/p{entry.number}",
            kind="filesystem" if fs_spec else "unrecognized", volume_system="MBR", offset=entry.offset,
            size=size, fs_type=fs_spec.type_indicator if fs_spec else None, note=note)


def _media_size(context: source_scanner.SourceScannerContext) -> int | None:
    root = context.GetRootScanNode()
    if not root.sub_nodes:
        return None
    try:
        return resolver.Resolver.OpenFileObject(root.sub_nodes[0].path_spec).get_size()
    except (dfvfs_errors.BackEndError, OSError):
        return None


def _extents(node: source_scanner.SourceScanNode) -> dict[str, tuple[int, int]]:
    """Volume identifier -> (offset, size), from the volume system itself."""
    try:
        volume_system = volume_system_factory.Factory.NewVolumeSystem(node.type_indicator)
        volume_system.Open(node.path_spec)
    except (dfvfs_errors.BackEndError, ValueError, KeyError):
        return {}
    result = {}
    for volume in volume_system.volumes:
        if volume.extents:
            result[volume.identifier] = (volume.extents[0].offset, volume.extents[0].size)
    return result


def _visit(context, node, volume_path, volume_system, extents, media_size) -> Iterator[VolumeRecord]:
    type_indicator = node.type_indicator
    location = getattr(node.path_spec, "location", None)
    if type_indicator in VOLUME_SYSTEMS and location not in (None, "/"):
        volume_path = location
        volume_system = type_indicator
    offset, size = extents.get(volume_path.lstrip("/"), (None, None))

    if context.IsLockedScanNode(node.path_spec):
        yield VolumeRecord(
            locator=to_locator(node.path_spec), volume_path=volume_path, kind="encrypted",
            volume_system=volume_system, offset=offset, size=size, fs_type=None,
            note=f"{type_indicator} volume is locked: supply its key or password",
        )
        return
    if node.IsFileSystem():
        yield VolumeRecord(
            locator=to_locator(node.path_spec), volume_path=volume_path, kind="filesystem",
            volume_system=volume_system, offset=offset, size=size, fs_type=type_indicator,
            note=_bounds_note(offset, size, media_size),
        )
        return
    if type_indicator == definitions.TYPE_INDICATOR_VSHADOW and location not in (None, "/"):
        yield VolumeRecord(
            locator=to_locator(node.path_spec), volume_path=location, kind="snapshot",
            volume_system=type_indicator, offset=None, size=None, fs_type=None,
            note="volume shadow copy store (listed, not walked)",
        )
        return
    if node.IsVolumeSystemRoot() and type_indicator in VOLUME_SYSTEMS:
        extents = _extents(node)
    if not node.sub_nodes:
        if type_indicator in VOLUME_SYSTEMS and location not in (None, "/"):
            yield VolumeRecord(
                locator=to_locator(node.path_spec), volume_path=volume_path, kind="unrecognized",
                volume_system=volume_system, offset=offset, size=size, fs_type=None,
                note=_bounds_note(offset, size, media_size) or "no file system recognized",
            )
        return
    for sub_node in node.sub_nodes:
        yield from _visit(context, sub_node, volume_path, volume_system, extents, media_size)


def _bounds_note(offset: int | None, size: int | None, media_size: int | None) -> str:
    if offset is not None and size is not None and media_size is not None and offset + size > media_size:
        return (f"volume ends at byte {offset + size} but the media has only {media_size} bytes "
                "(truncated image?)")
    return ""
