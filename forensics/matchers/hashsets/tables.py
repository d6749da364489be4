"""CSV hash tables with a header line: NSRL RDS 2.x / 1.5, HashKeeper, iLook.

Columns are found by name in the header, so column order does not matter:

* NSRL RDS 2.x ``NSRLFile.txt`` (``"SHA-1","MD5","CRC32","FileName","FileSize",
  "ProductCode","OpSystemCode","SpecialCode"``) and RDS 1.5 (same names, other order,
  plus an unused MD4): SHA-1, MD5, name, size; ProductCode becomes ``reference``.
  NIST's RDS 2.x documentation, https://www.nist.gov/itl/ssd/software-quality-group/nsrl.
* HashKeeper ``.hsh`` (``file_id,hashset_id,file_name,directory,hash,file_size,...``):
  ``hash`` is an MD5; ``hashset_id`` becomes ``reference``. Its ``.hke`` descriptor is read
  by :func:`read_hashkeeper_descriptor` (set name, notable flag = known-bad).
* iLook v3/v4 (``V3Hash|V4Hash,HashSHA1,FileName,FilePath,FileSize,HashSHA256,...``):
  ``V3Hash``/``V4Hash`` are MD5s (md5deep reads them so).
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from forensics.matchers.hashsets._common import Parsed, clean_hex, open_text, to_size
from forensics.matchers.models import HashSetEntry, HashSetWarning

# header name (lower case) -> (field, hex length or None)
COLUMNS = {
    "sha-1": ("sha1", 40), "sha1": ("sha1", 40), "hashsha1": ("sha1", 40),
    "md5": ("md5", 32), "hash": ("md5", 32), "v3hash": ("md5", 32), "v4hash": ("md5", 32),
    "sha-256": ("sha256", 64), "sha256": ("sha256", 64), "hashsha256": ("sha256", 64),
    "filename": ("name", None), "file_name": ("name", None),
    "filesize": ("size", None), "file_size": ("size", None),
    "productcode": ("reference", None), "hashset_id": ("reference", None),
}


def read_table(path: str | Path) -> Iterator[Parsed]:
    """Rows of a CSV hash table as entries; a bad row is a warning, the rest goes on."""
    with open_text(path) as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None:
            return
        fields = [COLUMNS.get(name.strip().lower()) for name in header]
        if not any(f and f[1] for f in fields):
            yield HashSetWarning(1, f"no hash column in header {header!r}")
            return
        for row in rows:
            number = rows.line_num
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                yield HashSetWarning(number, f"{len(row)} fields, header has {len(header)}")
                continue
            values: dict[str, object] = {}
            try:
                for spec, value in zip(fields, row):
                    if spec is None:
                        continue
                    field, length = spec
                    if length:
                        values[field] = clean_hex(value, length)
                    elif field == "size":
                        values[field] = to_size(value)
                    else:
                        values[field] = value or None
            except ValueError as exc:
                yield HashSetWarning(number, str(exc))
                continue
            entry = HashSetEntry(**values)
            if entry.md5 or entry.sha1 or entry.sha256:
                yield entry
            else:
                yield HashSetWarning(number, "row without any hash")


@dataclass(frozen=True)
class HashKeeperSet:
    """One row of a HashKeeper ``.hke`` descriptor."""

    hashset_id: str
    name: str
    vendor: str
    package: str
    version: str
    notable: bool          # HashKeeper's notable_flag: 1 = alert (known-bad), 0 = ignorable
    description: str


def read_hashkeeper_descriptor(path: str | Path) -> Iterator[HashKeeperSet]:
    with open_text(path) as handle:
        for row in csv.DictReader(handle):
            yield HashKeeperSet(hashset_id=row.get("hashset_id", ""), name=row.get("name", ""),
                                vendor=row.get("vendor", ""), package=row.get("package", ""),
                                version=row.get("version", ""), notable=row.get("notable_flag") == "1",
                                description=row.get("description", ""))
