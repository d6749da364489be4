"""Known-hash set files, parsed as streams of :class:`HashSetEntry` (never loaded whole).

``read_hashset(path)`` detects the format and yields entries, with a
:class:`HashSetWarning` in the stream for each line or record that could not be used, so an
import of 50 million rows goes on past one bad line and can report every skipped one.
Which set is known-good or known-bad, its categories and the lookups by MD5/SHA-1/SHA-256
belong to the importer and the database.

``FORMATS`` is the explicit list of readers (name -> function); each module cites the
format it follows.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from forensics.matchers.errors import HashSetFormatError
from forensics.matchers.models import HashSetWarning
from forensics.matchers.hashsets._common import Parsed, open_text
from forensics.matchers.hashsets.lists import parse_list_line, read_hash_list, read_hashdeep, read_pdq_list
from forensics.matchers.hashsets.rdsv3 import is_rdsv3, read_rdsv3, read_rdsv3_packages
from forensics.matchers.hashsets.tables import COLUMNS, read_hashkeeper_descriptor, read_table
from forensics.matchers.hashsets.vics import read_vics

PARSER_VERSION = "1"
FORMATS: dict[str, Callable[..., Iterator[Parsed]]] = {
    "nsrl-rdsv3": read_rdsv3,       # NSRL RDSv3 SQLite
    "nsrl-rds2": read_table,        # NSRL RDS 2.x / 1.5 NSRLFile.txt
    "hashkeeper": read_table,       # HashKeeper .hsh
    "ilook": read_table,            # iLook v3/v4 .hsh
    "hashdeep": read_hashdeep,      # hashdeep 1.0
    "hash-list": read_hash_list,    # md5sum/sha1sum/sha256sum, md5deep, BSD tags
    "vics": read_vics,              # Project VIC / VICS JSON
    "pdq-list": read_pdq_list,      # hex PDQ per line (+ category); never auto-detected
}
SQLITE_MAGIC = b"SQLite format 3\x00"

__all__ = ["FORMATS", "PARSER_VERSION", "ROW", "detect_format", "read_hashset", "read_rows",
           "read_hashkeeper_descriptor", "read_rdsv3_packages"]

# A row as the bulk importer writes it (read_rows); the same fields as HashSetEntry but photodna.
ROW = ("md5", "sha1", "sha256", "pdq", "category", "name", "size", "reference")
Row = tuple


def detect_format(path: str | Path) -> str:
    """The FORMATS name of a hash-set file, from its first bytes and first lines."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise HashSetFormatError(f"{path}: cannot read: {exc}") from exc
    if head.startswith(SQLITE_MAGIC):
        if is_rdsv3(path):
            return "nsrl-rdsv3"
        raise HashSetFormatError(f"{path}: SQLite database, but not an NSRL RDSv3 one")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{") and (b"odata" in head or b'"value"' in head):
        return "vics"
    with open_text(path) as handle:
        lines = [line.strip() for line, _ in zip(handle, range(50)) if line.strip()]
    if not lines:
        raise HashSetFormatError(f"{path}: empty file")
    first = lines[0]
    if first.upper().startswith("%%%% HASHDEEP"):
        return "hashdeep"
    header = [name.strip().strip('"').lower() for name in first.split(",")]
    if header[0] in ("v3hash", "v4hash"):
        return "ilook"
    if "hashset_id" in header and "hash" in header:
        return "hashkeeper"
    if "sha-1" in header and any(h in COLUMNS for h in header if h != "sha-1"):
        return "nsrl-rds2"
    content = [line for line in lines if not line.startswith("#")]
    if content and sum(parse_list_line(line) is not None for line in content) * 2 >= len(content):
        return "hash-list"
    raise HashSetFormatError(f"{path}: not a known hash-set format (first line {first[:80]!r})")


def read_hashset(path: str | Path, fmt: str | None = None, **options) -> Iterator[Parsed]:
    """Entries and warnings of a hash-set file; ``fmt`` is a FORMATS name or detected."""
    name = fmt or detect_format(path)
    if name not in FORMATS:
        raise HashSetFormatError(f"unknown hash-set format {name!r}; one of {sorted(FORMATS)}")
    return FORMATS[name](path, **options)


def read_rows(path: str | Path, fmt: str | None = None, **options) -> Iterator[Row | HashSetWarning]:
    """What ``read_hashset`` yields, as ``ROW`` tuples: the bulk importer's input (tens of millions).

    Hash lists have a fast path (no entry object per line; NSRL RDSv3's is in ``bulk``, checked by
    SQLite); the answers are the same as ``read_hashset``'s (tests compare them).
    """
    from forensics.matchers.hashsets.lists import rows_hash_list

    name = fmt or detect_format(path)
    if name == "hash-list":
        return rows_hash_list(path)
    return (item if isinstance(item, HashSetWarning) else
            (item.md5, item.sha1, item.sha256, item.pdq, item.category, item.name, item.size, item.reference)
            for item in read_hashset(path, name, **options))
