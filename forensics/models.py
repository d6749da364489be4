"""Record types shared by every stage: small, frozen, storage-agnostic."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MediaDigest:
    """Hashes of the acquired media (the logical bytes the image stands for)."""

    size: int
    md5: str
    sha1: str
    sha256: str


@dataclass(frozen=True)
class SourceInfo:
    """What an evidence path turned out to be, before any hashing."""

    path: str
    image_format: str                 # dfvfs type indicator: RAW, EWF, QCOW, VHDI, VMDK...
    segments: tuple[str, ...]         # every file that makes up the image
    media_size: int
    media_locator: str                # locator of the storage-media layer (what gets hashed)
    stored_hashes: dict[str, str] = field(default_factory=dict)  # e.g. EWF's acquisition MD5


@dataclass(frozen=True)
class VolumeRecord:
    """A volume or file system found by scanning the image."""

    locator: str                      # file-system locator (or the volume's, when no fs)
    volume_path: str                  # e.g. "/p1", "/lvm1", "/apfs1", "/" for an unpartitioned image
    kind: str                         # filesystem | unrecognized | encrypted | snapshot
    volume_system: str | None         # TSK_PARTITION, GPT, LVM, APFS_CONTAINER, VSHADOW...
    offset: int | None                # byte offset inside the media, where known
    size: int | None
    fs_type: str | None               # dfvfs type indicator of the file system (EXT, NTFS, FAT...)
    note: str = ""


@dataclass(frozen=True)
class FileRecord:
    """One directory entry (or NTFS alternate data stream) of a file system."""

    locator: str
    path: str                         # full path inside the file system, starting with '/'
    name: str
    inode: int | None                 # TSK metadata address / MFT entry number
    allocated: bool
    name_type: str                    # r d l v ... (fls's first letter)
    meta_type: str                    # r d l v ... (fls's second letter, '-' when unknown)
    size: int | None
    mtime: datetime | None
    atime: datetime | None
    ctime: datetime | None
    crtime: datetime | None
    data_stream: str = ""             # "" for the default stream
    has_content: bool = False         # regular file data that can be read and hashed
    # NTFS: the $FILE_NAME attribute's times (the times above are $STANDARD_INFORMATION's), and why
    # the two disagree in a way tools that rewrite times leave behind (forensics.ntfs_times)
    fn_crtime: datetime | None = None
    fn_mtime: datetime | None = None
    fn_ctime: datetime | None = None
    fn_atime: datetime | None = None
    time_anomaly: str | None = None


@dataclass(frozen=True)
class WalkWarning:
    """Something in the walk could not be read; the walk goes on."""

    path: str
    message: str
    fatal: bool = False               # True when the walk of this file system stopped here


@dataclass(frozen=True)
class ContentDigest:
    """Hashes and type of one data stream, from a single read."""

    size: int
    md5: str
    sha1: str
    sha256: str
    mime_type: str
    description: str
    extension_mismatch: bool
