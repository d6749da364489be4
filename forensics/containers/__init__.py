"""Looking inside containers: archives, compressed files, documents and disk images inside a file.

A container is recognised by its content type (libmagic), never by its name. Each extractor in
:data:`forensics.containers.registry.EXTRACTORS` lists the members of one family of formats; the
driver (:func:`forensics.containers.expand.expand`) opens what the walk found, recurses into
members that are containers themselves, and enforces the limits a hostile archive tests (depth,
members, bytes, expansion ratio, time). Every member becomes a :class:`Derived` item with its
chain of containers and a locator any stage can reopen:

- ZIP (and OOXML, ODF, JAR/APK, EPUB), TAR, GZIP, BZIP2 and XZ members keep **dfvfs path specs**
  (``ZIP``/``TAR``/``GZIP``/``COMPRESSED_STREAM`` over the container's own locator), read on demand;
- members of formats dfvfs has no back end for (7z, RAR, ISO 9660, CAB, CPIO via libarchive; the
  images and attachments of PDF via pikepdf; OLE2 streams via olefile), and ZIP/TAR members whose
  names cannot be a path spec (``../``, absolute, duplicated, encrypted), are copied once into the
  case's store, content-addressed by SHA-256 (an ``OS`` path spec names the copy). A member's name
  never becomes a file-system path, so nothing is written outside the store whatever it says.

Nothing here touches the database; evidence_store/stages/expand.py records the items.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SEPARATOR = "!/"          # between a container's path and a member's: /docs/a.zip!/photos/b.jpg


@dataclass(frozen=True)
class Limits:
    """Bounds on one top-level container and everything inside it (recorded in the run's parameters)."""

    max_depth: int = 5                    # containers inside containers
    max_members: int = 10_000             # members listed per container
    max_member_bytes: int = 2 << 30       # one member's size
    max_total_bytes: int = 4 << 30        # all members, all depths, of one top-level container
    max_ratio: int = 500                  # expanded / compressed, for members above ratio_floor
    ratio_floor: int = 16 << 20
    max_seconds: int = 600                # wall time for one top-level container


@dataclass(frozen=True)
class Member:
    """What an extractor lists: a member's name in its container and where its bytes are."""

    name: str                             # as the container records it ('/'-separated)
    size: int | None
    locator: str | None                   # dfvfs path spec (a dfvfs member or a stored copy); None: no bytes
    mtime: datetime | None = None
    encrypted: bool = False
    note: str = ""


@dataclass(frozen=True)
class Derived:
    """A member with its place in the chain below the top-level container."""

    key: tuple[str, ...]                  # member names from the top-level container down
    depth: int                            # 1 = directly inside the top-level container
    path: str                             # display path: /docs/a.zip!/inner.tar.gz!/inner.tar!/b.jpg
    name: str
    locator: str | None
    size: int | None
    mtime: datetime | None
    extractor: str                        # "zip/1"
    encrypted: bool = False
    note: str = ""


@dataclass(frozen=True)
class ContainerWarning:
    """Something in a container was refused or could not be read; expansion goes on."""

    path: str                             # display path of the container
    message: str
