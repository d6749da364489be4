"""File slack: the bytes between the end of a file and the end of its last block.

Found by walking the allocated directory tree with TSK (as ``fls`` does) and taking,
for each allocated regular file with non-resident data, the tail of its last data run
past the file size. Resident (MFT-held) NTFS data has no slack worth carving.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytsk3

from forensics import tsk

REG = int(pytsk3.TSK_FS_META_TYPE_REG)
DIR = int(pytsk3.TSK_FS_META_TYPE_DIR)
NONRESIDENT = int(pytsk3.TSK_FS_ATTR_NONRES)
SPARSE_OR_FILLER = int(pytsk3.TSK_FS_ATTR_RUN_FLAG_SPARSE) | int(pytsk3.TSK_FS_ATTR_RUN_FLAG_FILLER)
MAX_DIRECTORIES = 1_000_000


def slack_runs(volume: tsk.TSKVolume) -> Iterator[tuple[int, int]]:
    """(byte offset in the volume, length) of the slack of every allocated file."""
    block = volume.block_size
    seen_dirs: set[int] = set()
    stack = [volume.root_inum]
    while stack and len(seen_dirs) < MAX_DIRECTORIES:
        inode = stack.pop()
        if inode in seen_dirs:
            continue
        seen_dirs.add(inode)
        try:
            directory = volume.fs.open_dir(inode=inode)
            entries = list(directory)
        except (OSError, IOError, RuntimeError):
            continue
        for entry in entries:
            name, meta = entry.info.name, entry.info.meta
            if meta is None or name.name in (b".", b"..") or int(name.flags) & tsk.NAME_UNALLOC:
                continue
            if not int(meta.flags) & tsk.META_ALLOC:
                continue
            kind = int(meta.type)
            if kind == DIR:
                stack.append(int(meta.addr))
            elif kind == REG:
                found = _file_slack(entry, int(meta.size), block)
                if found:
                    yield found


def _file_slack(entry, size: int, block: int) -> tuple[int, int] | None:
    for attr in entry:
        info = attr.info
        if int(info.type) not in (tsk.ATTR_DEFAULT, tsk.ATTR_NTFS_DATA, 1) or info.name:
            continue
        if not int(info.flags) & NONRESIDENT:
            return None
        runs = [(int(run.addr), int(run.len), int(run.flags)) for run in attr]
        if not runs or any(flags & SPARSE_OR_FILLER for _, _, flags in runs):
            return None                 # sparse files: the tail may not be on disk at all
        runs = [(addr, length) for addr, length, _ in runs]
        allocated = sum(length for _, length in runs) * block
        slack = allocated - size
        last_addr, last_len = runs[-1]
        if 0 < slack <= last_len * block:
            return (last_addr + last_len) * block - slack, slack
        return None
    return None
