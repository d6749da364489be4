"""The Sleuth Kit underneath dfvfs: opens a file system on the bytes dfvfs exposes.

dfvfs resolves the image and volume layers (EWF, QCOW, partitions, LVM, BDE...);
pytsk3 then reads the file system on top of that file object, which is what lets
the walk see deleted names and orphan inodes the way ``fls -r`` does.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytsk3
from dfvfs.lib import errors as dfvfs_errors
from dfvfs.lib.tsk_image import TSKFileSystemImage
from dfvfs.path.path_spec import PathSpec
from dfvfs.resolver import resolver

from forensics.errors import FileSystemOpenError


def _letters(prefix: str) -> dict[int, str]:
    table = {"UNDEF": "-", "REG": "r", "DIR": "d", "FIFO": "p", "CHR": "c", "BLK": "b", "LNK": "l",
             "SOCK": "h", "SHAD": "s", "WHT": "w", "VIRT": "v", "VIRT_DIR": "V"}
    return {int(getattr(pytsk3, prefix + k)): v for k, v in table.items() if hasattr(pytsk3, prefix + k)}


NAME_TYPES = _letters("TSK_FS_NAME_TYPE_")
META_TYPES = _letters("TSK_FS_META_TYPE_")
NAME_UNALLOC = int(pytsk3.TSK_FS_NAME_FLAG_UNALLOC)
META_UNALLOC = int(pytsk3.TSK_FS_META_FLAG_UNALLOC)
META_ALLOC = int(pytsk3.TSK_FS_META_FLAG_ALLOC)
ATTR_NTFS_DATA = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_DATA)
ATTR_NTFS_IDXROOT = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_IDXROOT)
ATTR_DEFAULT = int(pytsk3.TSK_FS_ATTR_TYPE_DEFAULT)
ATTR_NTFS_FNAME = int(pytsk3.TSK_FS_ATTR_TYPE_NTFS_FNAME)
FS_TYPE_NAMES = {
    int(getattr(pytsk3, name)): name[len("TSK_FS_TYPE_"):].lower()
    for name in dir(pytsk3)
    if name.startswith("TSK_FS_TYPE_") and not name.endswith(("DETECT", "ENUM"))
}


class TSKVolume:
    """A pytsk3 file system opened over a dfvfs file object (kept open for reuse)."""

    def __init__(self, volume_spec: PathSpec) -> None:
        try:
            self._file_object = resolver.Resolver.OpenFileObject(volume_spec)
            self.image = TSKFileSystemImage(self._file_object)
            self.fs = pytsk3.FS_Info(self.image)
        except (OSError, IOError, RuntimeError, dfvfs_errors.Error) as exc:
            raise FileSystemOpenError(f"TSK cannot open the file system: {exc}") from exc
        self.fs_type = FS_TYPE_NAMES.get(int(self.fs.info.ftype), str(int(self.fs.info.ftype)))
        self.root_inum = int(self.fs.info.root_inum)
        self.block_size = int(self.fs.info.block_size)
        self.fs_id = bytes(self.fs.info.fs_id)[: int(self.fs.info.fs_id_used)]     # serial number / UUID

    def open_meta(self, inode: int) -> pytsk3.File:
        return self.fs.open_meta(inode=inode)


def timestamp(seconds: int | None, nanos: int | None = 0) -> datetime | None:
    """TSK epoch seconds (+nanoseconds) to an aware UTC datetime; 0 means unset."""
    if not seconds:
        return None
    try:
        return datetime.fromtimestamp(seconds + (nanos or 0) / 1e9, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def find_attribute(tsk_file: pytsk3.File, stream: str) -> tuple[int, int, int] | None:
    """(type, id, size) of the named NTFS $DATA attribute, else of the named $INDEX_ROOT.

    The walk lists both kinds as ``path:name`` rows, as fls does; icat reads either.
    """
    found = {}
    for attr in tsk_file:
        info = attr.info
        name = info.name.decode("utf-8", "backslashreplace") if info.name else ""
        if name == stream and int(info.type) in (ATTR_NTFS_DATA, ATTR_NTFS_IDXROOT):
            found.setdefault(int(info.type), (int(info.type), int(info.id), int(info.size)))
    return found.get(ATTR_NTFS_DATA) or found.get(ATTR_NTFS_IDXROOT)
