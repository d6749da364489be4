"""Where to carve: unallocated blocks, slack, unpartitioned space, gaps, whole images.

Ranges are expressed in media offsets (the logical disk inside any E01/QCOW/VHD
container) whenever the bytes are a linear slice of the media: partitions of an
MBR/GPT/APM table and file systems written straight on the media. Volumes that are not
(LVM logical volumes, unlocked BitLocker/LUKS volumes, APFS) are carved through their
own stream; their ranges name that stream's locator and have no image offset.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from dfvfs.lib import definitions
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.path import factory as path_spec_factory
from dfvfs.resolver import resolver
from dfvfs.volume import factory as volume_system_factory

from forensics import tsk
from forensics.carving import allocation
from forensics.carving.models import CarveRange, CarveWarning
from forensics.reader import FileObjectReader, close_reader, open_reader
from forensics.carving.slack import slack_runs
from forensics.errors import FileSystemOpenError
from forensics.image import STORAGE_MEDIA_TYPES
from forensics.locator import from_locator, to_locator
from forensics.models import VolumeRecord

PARTITION_TABLES = (definitions.TYPE_INDICATOR_TSK_PARTITION, definitions.TYPE_INDICATOR_GPT,
                    definitions.TYPE_INDICATOR_APM)
LINEAR_BOTTOM = tuple(STORAGE_MEDIA_TYPES) + (definitions.TYPE_INDICATOR_OS,)
ALLOCATION_READERS = {"ext": "ext", "fat": "fat", "ntfs": "ntfs"}
Item = CarveRange | CarveWarning


def carve_ranges(media_locator: str, volumes: Iterable[VolumeRecord], *, slack: bool = False,
                 ) -> Iterator[Item]:
    """Every range of the media to carve, given the volumes ``scan_volumes`` found.

    With no volume at all the whole image is one range. ``slack=True`` adds one range
    per allocated file's slack (many small ranges).
    """
    media = open_reader(media_locator)
    media_size = media.size
    close_reader(media)
    volumes = list(volumes)
    if not volumes:
        yield CarveRange(media_locator, 0, media_size, "whole-image", None, 0)
        return
    covered: list[tuple[int, int]] = []
    table_types: set[str] = set()
    for volume in volumes:
        if volume.kind in ("snapshot", "missing"):
            continue
        spec = from_locator(volume.locator)
        volume_spec = spec.parent if volume.kind == "filesystem" and spec.parent is not None else spec
        base = _media_base(volume_spec, volume.offset)
        table_types.update(_table_types(volume_spec))
        volume_size = volume.size
        if volume.kind == "encrypted":
            if base is not None and volume_size:
                covered.append((base, base + volume_size))
            yield CarveWarning(base, f"volume {volume.volume_path} is encrypted and locked: its bytes are not "
                               "carved (ciphertext)", "encrypted", volume.locator, None)
            continue
        if base is not None:
            volume_size = volume_size or media_size - base
            covered.append((base, min(base + volume_size, media_size)))
        if volume.kind == "filesystem":
            yield from _file_system_ranges(media_locator, volume, volume_spec, base, slack)
        else:
            yield from _whole_volume(media_locator, volume, volume_spec, base, "volume")
    covered.extend(_partition_table_extents(media_locator, table_types))
    yield from _outside(media_locator, media_size, covered)


def split_range(rng: CarveRange, max_length: int) -> Iterator[CarveRange]:
    """Pieces of at most ``max_length`` bytes for parallel workers; each may still read to
    the end of the original range, so an object crossing a cut is found whole."""
    pos = rng.offset
    while pos < rng.end:
        length = min(max_length, rng.end - pos)
        yield CarveRange(rng.locator, pos, length, rng.source, rng.volume_path, rng.to_image(pos),
                         rng.fs_locator, rng.limit)
        pos += length


def _media_base(spec, record_offset: int | None) -> int | None:
    """Media offset of the first byte of ``spec``'s stream, or None when it is not linear."""
    base = 0
    while spec is not None:
        kind = spec.type_indicator
        if kind in LINEAR_BOTTOM:
            return base
        if kind == definitions.TYPE_INDICATOR_TSK_PARTITION:
            start = getattr(spec, "start_offset", None)
            if start is None:
                if getattr(spec, "location", None) in (None, "/"):
                    spec = spec.parent
                    continue
                start = record_offset
            if start is None:
                return None
            base += start
        elif kind in (definitions.TYPE_INDICATOR_GPT, definitions.TYPE_INDICATOR_APM):
            if getattr(spec, "location", None) not in (None, "/"):
                if record_offset is None:
                    return None
                base += record_offset
        elif kind == definitions.TYPE_INDICATOR_DATA_RANGE:
            base += spec.range_offset
        else:
            return None
        spec = spec.parent
    return None


def _table_types(spec) -> set[str]:
    found = set()
    while spec is not None:
        if spec.type_indicator in PARTITION_TABLES and spec.parent is not None \
                and spec.parent.type_indicator in STORAGE_MEDIA_TYPES:
            found.add(spec.type_indicator)
        spec = spec.parent
    return found


def _partition_table_extents(media_locator: str, table_types: set[str]) -> list[tuple[int, int]]:
    """Every partition of the media's tables (including ones holding LVM or nothing known),
    so that only space outside all of them counts as unpartitioned."""
    extents = []
    media_spec = from_locator(media_locator)
    for kind in sorted(table_types):
        spec = path_spec_factory.Factory.NewPathSpec(kind, location="/", parent=media_spec)
        try:
            volume_system = volume_system_factory.Factory.NewVolumeSystem(kind)
            volume_system.Open(spec)
        except (dfvfs_errors.BackEndError, ValueError, KeyError, OSError):
            continue
        for volume in volume_system.volumes:
            for extent in volume.extents:
                extents.append((extent.offset, extent.offset + extent.size))
    return extents


def _outside(media_locator: str, media_size: int, covered: list[tuple[int, int]]) -> Iterator[CarveRange]:
    pos = 0
    for start, end in sorted(covered):
        if start > pos:
            source = "unpartitioned" if pos == 0 else "gap"
            yield CarveRange(media_locator, pos, start - pos, source, None, pos)
        pos = max(pos, end)
    if pos < media_size:
        yield CarveRange(media_locator, pos, media_size - pos, "unpartitioned", None, pos)


def _stream(media_locator: str, volume_spec, base: int | None) -> tuple[str, int]:
    """(locator, offset of the volume's byte 0 in it)."""
    if base is not None:
        return media_locator, base
    return to_locator(volume_spec), 0


def _whole_volume(media_locator: str, volume: VolumeRecord, volume_spec, base: int | None,
                  source: str) -> Iterator[Item]:
    locator, at = _stream(media_locator, volume_spec, base)
    size = volume.size
    if size is None:
        try:
            size = FileObjectReader(resolver.Resolver.OpenFileObject(volume_spec)).size
        except (dfvfs_errors.Error, OSError, RuntimeError) as exc:
            yield CarveWarning(base, f"volume {volume.volume_path} cannot be opened for carving: {exc}",
                               "read-error", volume.locator, None)
            return
    yield CarveRange(locator, at, size, source, volume.volume_path, at if base is not None else None,
                     volume.locator if volume.kind == "filesystem" else None)


def _file_system_ranges(media_locator: str, volume: VolumeRecord, volume_spec, base: int | None,
                        slack: bool) -> Iterator[Item]:
    try:
        opened = tsk.TSKVolume(volume_spec)
    except FileSystemOpenError as exc:
        yield CarveWarning(base, f"{volume.volume_path}: {exc}; the whole volume is carved", "allocation",
                           volume.locator, None)
        yield from _whole_volume(media_locator, volume, volume_spec, base, "volume")
        return
    family = next((v for k, v in ALLOCATION_READERS.items() if opened.fs_type.startswith(k)), None)
    reader = FileObjectReader(resolver.Resolver.OpenFileObject(volume_spec))
    try:
        if family == "ext":
            found = allocation.ext_allocation(reader)
        elif family == "fat":
            found = allocation.fat_allocation(reader)
        elif family == "ntfs":
            found = allocation.ntfs_allocation(opened.fs)
        else:
            found = None
    except (ValueError, OSError, IOError, RuntimeError, IndexError) as exc:
        yield CarveWarning(base, f"{volume.volume_path}: allocation map of {opened.fs_type} unreadable ({exc}); "
                           "the whole volume is carved", "allocation", volume.locator, None)
        found = None
        family = None
    if found is None:
        if family is None and opened.fs_type:
            yield CarveWarning(base, f"{volume.volume_path}: unallocated space of {opened.fs_type} file systems is "
                               "not computed; the whole volume is carved", "allocation", volume.locator, None)
        yield from _whole_volume(media_locator, volume, volume_spec, base, "volume")
        return
    locator, at = _stream(media_locator, volume_spec, base)
    image = base is not None
    volume_size = volume.size or reader.size
    for offset, length in found.runs:
        length = min(length, volume_size - offset)
        if length > 0:
            yield CarveRange(locator, at + offset, length, "unallocated", volume.volume_path,
                             at + offset if image else None, volume.locator)
    if volume_size > found.fs_size:
        yield CarveRange(locator, at + found.fs_size, volume_size - found.fs_size, "volume-slack",
                         volume.volume_path, at + found.fs_size if image else None, volume.locator)
    if slack:
        for offset, length in slack_runs(opened):
            yield CarveRange(locator, at + offset, length, "slack", volume.volume_path,
                             at + offset if image else None, volume.locator)
