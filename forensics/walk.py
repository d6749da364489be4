"""Walking a file system: every entry, deleted ones included.

The TSK walk mirrors ``fls -r -p``: it recurses into allocated and deleted
directories (not into a deleted name whose inode was reallocated), lists the
``$OrphanFiles`` virtual directory, and gives each named NTFS ``$DATA``
attribute its own record. When TSK cannot read a file system that dfvfs can
(e.g. some APFS or HFS+ variants), dfvfs's own back end walks it instead; that
walk sees allocated entries only, and a warning says so.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytsk3
from dfvfs.lib import definitions, errors as dfvfs_errors
from dfvfs.resolver import resolver

from forensics import tsk
from forensics.errors import FileSystemOpenError
from forensics.image import Credentials, apply_credentials
from forensics.locator import ChildLocatorFactory, canonical, from_locator, to_locator
from forensics.models import FileRecord, WalkWarning

Walked = FileRecord | WalkWarning


def walk_file_system(fs_locator: str, credentials: Credentials = ()) -> Iterator[Walked]:
    """Yields a record per entry of the file system named by ``fs_locator``."""
    apply_credentials(fs_locator, credentials)
    spec = from_locator(fs_locator)
    try:
        volume = tsk.TSKVolume(spec.parent) if spec.parent else None
    except FileSystemOpenError as exc:
        volume = None
        reason = str(exc)
    if volume is not None:
        yield from _walk_tsk(volume, to_locator(spec.parent))
        return
    yield WalkWarning(path="/", message=f"{reason}; walking with dfvfs ({spec.type_indicator}): "
                      "deleted entries are not listed for this file system")
    yield from _walk_dfvfs(fs_locator)


def _walk_tsk(volume: tsk.TSKVolume, parent_locator: str) -> Iterator[Walked]:
    make_locator = ChildLocatorFactory(parent_locator, definitions.TYPE_INDICATOR_TSK)
    is_ntfs = volume.fs_type.startswith("ntfs")
    dot_entries = not (is_ntfs or volume.fs_type.startswith("exfat"))   # exFAT directories have no '.'/'..'

    try:
        root = volume.fs.open_dir(inode=volume.root_inum)
    except (OSError, IOError, RuntimeError) as exc:
        yield WalkWarning(path="/", message=f"cannot open root directory: {exc}", fatal=True)
        return
    # Depth-first, like fls; each stack item carries the inodes above it and their paths (loop guard).
    stack: list[tuple[pytsk3.Directory, str, dict[int, str]]] = [(root, "", {volume.root_inum: "/"})]
    while stack:
        directory, prefix, ancestors = stack.pop()
        children = []
        try:
            for tsk_file in directory:
                children.append(tsk_file)
        except (OSError, IOError, RuntimeError) as exc:
            yield WalkWarning(path=prefix or "/", message=f"directory listing stopped: {exc}")
        if not children and prefix and not prefix.endswith("/$OrphanFiles") and dot_entries:
            # ext and FAT directories always hold '.' and '..': an empty listing means damaged data
            yield WalkWarning(path=prefix, message=f"directory {prefix} lists no entries, not even '.' and "
                              "'..': its data blocks are damaged or reused")
        pending = []
        for tsk_file in children:
            name_info = tsk_file.info.name
            raw_name = name_info.name
            if raw_name in (b".", b".."):
                continue
            name = raw_name.decode("utf-8", "backslashreplace")
            path = f"{prefix}/{name}"
            tsk_file = _with_meta(volume, tsk_file)
            records = _records(tsk_file, path, name, make_locator, is_ntfs)
            yield from records
            entry = records[0]
            meta = tsk_file.info.meta
            if meta is None or entry.meta_type not in ("d", "V"):
                continue
            inode = int(name_info.meta_addr)
            reallocated = bool(int(name_info.flags) & tsk.NAME_UNALLOC) and bool(int(meta.flags) & tsk.META_ALLOC)
            if inode in ancestors:
                if allocated_name(name_info):
                    yield WalkWarning(path=path, message=f"directory loop: {path} is directory {ancestors[inode]} "
                                      f"again (inode {inode}); listed once, not walked again")
                continue
            if reallocated:
                continue
            try:
                pending.append((tsk_file.as_directory(), path, {**ancestors, inode: path}))
            except (OSError, IOError, RuntimeError) as exc:
                yield WalkWarning(path=path, message=f"cannot open directory: {exc}")
        stack.extend(reversed(pending))


def allocated_name(name_info) -> bool:
    return not int(name_info.flags) & tsk.NAME_UNALLOC


def _with_meta(volume: tsk.TSKVolume, tsk_file):
    """Orphan entries come without metadata loaded; fls loads it by address."""
    if tsk_file.info.meta is None and int(tsk_file.info.name.meta_addr):
        try:
            opened = volume.open_meta(int(tsk_file.info.name.meta_addr))
        except (OSError, IOError, RuntimeError):
            return tsk_file
        if opened.info.meta is not None and opened.info.name is None:
            return _Merged(tsk_file, opened)
    return tsk_file


class _Merged:
    """A directory entry's name with metadata opened separately."""

    def __init__(self, named, opened) -> None:
        self._opened = opened
        self.info = type("Info", (), {"name": named.info.name, "meta": opened.info.meta})()

    def __iter__(self):
        return iter(self._opened)

    def read_random(self, *args):
        return self._opened.read_random(*args)

    def as_directory(self):
        return self._opened.as_directory()


def _records(tsk_file, path: str, name: str, make_locator, is_ntfs: bool) -> list[FileRecord]:
    name_info = tsk_file.info.name
    meta = tsk_file.info.meta
    inode = int(name_info.meta_addr)
    name_type = tsk.NAME_TYPES.get(int(name_info.type), "-")
    meta_type = tsk.META_TYPES.get(int(meta.type), "-") if meta is not None else "-"
    allocated = not (int(name_info.flags) & tsk.NAME_UNALLOC) and not (
        meta is not None and int(meta.flags) & tsk.META_UNALLOC)
    times = {}
    if meta is not None:
        for key in ("mtime", "atime", "ctime", "crtime"):
            times[key] = tsk.timestamp(getattr(meta, key, 0), getattr(meta, key + "_nano", 0))
    has_content = meta is not None and meta_type == "r"
    base = dict(
        inode=inode if (inode or meta is not None) else None, allocated=allocated, name_type=name_type, meta_type=meta_type,
        mtime=times.get("mtime"), atime=times.get("atime"), ctime=times.get("ctime"),
        crtime=times.get("crtime"),
    )
    size = int(meta.size) if meta is not None else None
    if is_ntfs and meta is not None:
        base.update(_file_name_times(tsk_file, meta, base["crtime"]))
    streams = _ntfs_streams(tsk_file, size) if is_ntfs and meta is not None else [("", size)]
    records = []
    for stream, stream_size in streams or [("", size)]:
        suffix = f":{stream}" if stream else ""
        records.append(FileRecord(
            locator=make_locator(inode=base["inode"], location=path, data_stream=stream or None),
            path=path + suffix, name=name + suffix, size=stream_size, data_stream=stream,
            has_content=has_content, **base))
    return records


def _file_name_times(tsk_file, meta, si_crtime) -> dict:
    """The first $FILE_NAME attribute's times, and the $SI/$FN anomaly if any (forensics.ntfs_times)."""
    from forensics.ntfs_times import anomaly, file_name_times, filetime

    try:
        for attr in tsk_file:
            info = attr.info
            if int(info.type) != tsk.ATTR_NTFS_FNAME:
                continue
            content = tsk_file.read_random(0, int(info.size), int(info.type), int(info.id))
            times = file_name_times(content)
            if times is None:
                continue
            created, modified, changed, accessed = times
            fraction = getattr(meta, "crtime_nano", 0) // 100 if getattr(meta, "crtime", 0) else None
            return {"fn_crtime": filetime(created), "fn_mtime": filetime(modified), "fn_ctime": filetime(changed),
                    "fn_atime": filetime(accessed), "time_anomaly": anomaly(si_crtime, fraction, created)}
    except (OSError, IOError, RuntimeError):
        pass
    return {}


def _ntfs_streams(tsk_file, entry_size: int | None) -> list[tuple[str, int | None]]:
    """One (stream, size) per $DATA / $INDEX_ROOT attribute, as fls prints them.

    The unnamed $DATA and the $I30 index root are the entry itself (""); any other
    named attribute (alternate data streams, $O/$Q/$R indexes) is its own row.
    """
    streams: list[tuple[str, int | None]] = []
    try:
        for attr in tsk_file:
            info = attr.info
            kind = int(info.type)
            if kind not in (tsk.ATTR_NTFS_DATA, tsk.ATTR_NTFS_IDXROOT):
                continue
            name = info.name.decode("utf-8", "backslashreplace") if info.name else ""
            if name in ("$Data", "$I30"):
                name = ""
            size = int(info.size) if (kind == tsk.ATTR_NTFS_DATA or name) else entry_size
            if (name, size) not in streams and not (name == "" and any(s == "" for s, _ in streams)):
                streams.append((name, size))
    except (OSError, IOError, RuntimeError):
        pass
    return streams


def _walk_dfvfs(fs_locator: str) -> Iterator[Walked]:
    try:
        root = resolver.Resolver.OpenFileEntry(from_locator(fs_locator))
    except (dfvfs_errors.BackEndError, OSError, RuntimeError) as exc:
        yield WalkWarning(path="/", message=f"cannot open file system: {exc}", fatal=True)
        return
    if root is None:
        yield WalkWarning(path="/", message="file system has no root directory", fatal=True)
        return
    stack = [(root, "")]
    while stack:
        entry, prefix = stack.pop()
        try:
            subs = list(entry.sub_file_entries)
        except (dfvfs_errors.BackEndError, OSError, RuntimeError) as exc:
            yield WalkWarning(path=prefix or "/", message=f"directory listing stopped: {exc}")
            continue
        for sub in subs:
            path = f"{prefix}/{sub.name}"
            yield from _dfvfs_records(sub, path)
            if sub.IsDirectory() and not sub.IsLink():
                stack.append((sub, path))


def _dfvfs_time(value) -> datetime | None:
    if value is None:
        return None
    micros = value.GetPlasoTimestamp()
    return tsk.timestamp(micros // 1_000_000, (micros % 1_000_000) * 1000) if micros else None


def _dfvfs_records(entry, path: str) -> Iterator[FileRecord]:
    """The entry, and a row per named data stream (NTFS alternate data streams) with its size. The
    entry's number is the one TSK gives (NTFS: the MFT entry); an entry with no default data stream
    (NTFS metadata files such as $Secure, whose data is the named $SDS) has no content of its own."""
    kind = "d" if entry.IsDirectory() else "l" if entry.IsLink() else "r" if entry.IsFile() else "-"
    spec = entry.path_spec
    inode = next((value for value in (getattr(spec, name, None) for name in ("mft_entry", "inode", "identifier"))
                  if value is not None), None)
    streams = list(entry.data_streams)
    base = dict(
        inode=inode, allocated=entry.IsAllocated(), name_type=kind, meta_type=kind,
        mtime=_dfvfs_time(entry.modification_time), atime=_dfvfs_time(entry.access_time),
        ctime=_dfvfs_time(entry.change_time), crtime=_dfvfs_time(entry.creation_time),
    )
    yield FileRecord(locator=to_locator(spec), path=path, name=entry.name, size=entry.size,
                     has_content=kind == "r" and any(not stream.name for stream in streams), **base)
    for stream in streams:
        if stream.name:
            yield FileRecord(
                locator=_stream_locator(entry, stream.name), path=f"{path}:{stream.name}",
                name=f"{entry.name}:{stream.name}", size=getattr(stream, "size", None), data_stream=stream.name,
                has_content=True, **base)


def _stream_locator(entry, stream: str) -> str:
    obj = json.loads(to_locator(entry.path_spec))
    obj["data_stream"] = stream
    return canonical(obj)


def file_system_serial(fs_locator: str, credentials: Credentials = ()) -> str | None:
    """The file system's serial number or UUID as its own tools print it (forensics.indicators.filesystem),
    None where TSK cannot open it or it has none."""
    from forensics.indicators.filesystem import volume_serial

    apply_credentials(fs_locator, credentials)
    spec = from_locator(fs_locator)
    if spec.parent is None:
        return None
    try:
        volume = tsk.TSKVolume(spec.parent)
    except FileSystemOpenError:
        return None
    return volume_serial(volume.fs_type, volume.fs_id)
