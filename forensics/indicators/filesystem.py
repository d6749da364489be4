"""Identifiers the file system itself carries: the volume serial number, user names (profile and home
directories) and Windows account SIDs (machine and domain accounts, S-1-5-21-…) in paths.

Listed in :data:`PATH_EXTRACTORS` with a name and version, like the content extractors; a value is
found once per volume with the shortest path that shows it and how many paths do."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_PROFILE = re.compile(r"^/(?:Users|Documents and Settings|home)/([^/:]+)(?:/|$)", re.IGNORECASE)
_NOT_A_USER = {"public", "default", "default user", "all users", "desktop.ini", "shared", "lost+found"}
_SID = re.compile(r"S-1-5-21-\d{1,10}-\d{1,10}-\d{1,10}-\d{1,10}")


@dataclass(frozen=True)
class PathExtractor:
    name: str
    version: str
    kind: str
    summary: str

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


USER = PathExtractor("user", "1", "user", "user names from /Users, /Documents and Settings and /home directories")
SID = PathExtractor("sid", "1", "sid", "Windows machine/domain account SIDs (S-1-5-21-…) in paths ($Recycle.Bin…)")
SERIAL = PathExtractor("volume-serial", "1", "volume-serial", "the file system's serial number or UUID (TSK fs_id)")
PATH_EXTRACTORS: tuple[PathExtractor, ...] = (USER, SID, SERIAL)


@dataclass
class Seen:
    kind: str
    value: str
    location: str                 # the shortest path that shows it
    occurrences: int
    extractor: str


def from_paths(paths: Iterable[str]) -> Iterator[Seen]:
    """User names and SIDs in the paths, each once, with the shortest path showing it and a count."""
    seen: dict[tuple[str, str], Seen] = {}
    for path in paths:
        found = []
        match = _PROFILE.match(path)
        if match and match.group(1).lower() not in _NOT_A_USER:
            found.append((USER, match.group(1), path[:match.end(1)]))
        for sid in _SID.finditer(path):
            found.append((SID, sid.group(), path[:sid.end()]))
        for extractor, value, where in found:
            key = (extractor.kind, value if extractor is SID else value.lower())
            item = seen.get(key)
            if item is None:
                seen[key] = Seen(extractor.kind, value, where, 1, extractor.label)
            else:
                item.occurrences += 1
                if len(where) < len(item.location):
                    item.location = where
    yield from seen.values()


def volume_serial(fs_type: str, fs_id: bytes) -> str | None:
    """As the tools of each file system print it: FAT/exFAT XXXX-XXXX, NTFS 16 hex digits, UUIDs for
    ext/XFS/Btrfs-style 16-byte ids."""
    if not fs_id or not any(fs_id):
        return None
    if fs_type.startswith(("fat", "exfat")) and len(fs_id) == 4:
        value = int.from_bytes(fs_id, "little")
        return f"{value >> 16:04X}-{value & 0xFFFF:04X}"
    if fs_type.startswith("ntfs") and len(fs_id) == 8:
        return f"{int.from_bytes(fs_id, 'little'):016X}"
    if len(fs_id) == 16:
        return str(uuid.UUID(bytes=bytes(fs_id)))
    return bytes(fs_id).hex()
