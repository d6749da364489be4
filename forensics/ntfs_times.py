"""NTFS keeps two sets of times per file: $STANDARD_INFORMATION (what Windows shows and what any
program may set) and $FILE_NAME (set by the file system when the name is created or moved). Tools
that backdate a file ("timestomping") usually rewrite the first and leave the second, so two signs
are worth an examiner's look (SANS FOR508; Carrier, *File System Forensic Analysis*, ch. 13):

* the $SI creation time is earlier than the $FN creation time;
* the $SI creation time has no sub-second part (a whole second in 100-ns units) while the $FN
  creation time has one: API calls that set times from a date usually pass whole seconds.

Neither proves anything on its own (a copy from another volume or an archive extraction can do
the same); they are flags for review, shown beside both sets of times.

$FILE_NAME layout (MS-FSCC / Carrier ch. 13): parent reference (8 bytes), then creation,
modification, MFT-change and access times as FILETIME (100-ns intervals since 1601-01-01 UTC).
"""
from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
TICKS_PER_SECOND = 10_000_000


def filetime(ticks: int) -> datetime | None:
    if not ticks:
        return None
    try:
        return FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    except OverflowError:
        return None


def file_name_times(content: bytes) -> tuple[int, int, int, int] | None:
    """(creation, modification, MFT change, access) FILETIME ticks of a $FILE_NAME attribute."""
    if len(content) < 0x28:
        return None
    return struct.unpack_from("<QQQQ", content, 0x08)


def anomaly(si_crtime: datetime | None, si_crtime_ticks_fraction: int | None, fn_created: int | None) -> str | None:
    """Why the $SI creation time looks rewritten, or None. ``si_crtime_ticks_fraction`` is the $SI
    creation time's sub-second part in 100-ns ticks; ``fn_created`` the $FN creation in ticks."""
    if si_crtime is None or not fn_created:
        return None
    fn_time = filetime(fn_created)
    if fn_time is not None and si_crtime < fn_time - timedelta(seconds=1):
        return (f"$STANDARD_INFORMATION created {si_crtime.isoformat()} is earlier than $FILE_NAME created "
                f"{fn_time.isoformat()}")
    if si_crtime_ticks_fraction == 0 and fn_created % TICKS_PER_SECOND:
        return "$STANDARD_INFORMATION creation time has no sub-second part; $FILE_NAME's has"
    return None
