"""NSRL RDSv3: the SQLite publication (``RDS_YYYY.MM.R_<set>.db``), read without copying.

Schema (NIST ``schema.sql`` of RDSv3): ``FILE(sha256, sha1, md5, crc32, file_name,
file_size, package_id)`` with upper-case hex, ``PKG(package_id, name, version,
operating_system_id, manufacturer_id, language, application_type)``, ``OS(...)``,
``MFG(...)``, ``VERSION(version, build_set, build_date, release_date, description)`` and the
view ``DISTINCT_HASH(sha256, sha1, md5, crc32)``. ``FILE`` has one row per (hash, name,
package), so a hash repeats; the importer de-duplicates on its unique keys, or reads the
``DISTINCT_HASH`` view with ``distinct=True`` (hashes only). The database is opened
read-only and immutable, and rows are streamed by the cursor: memory does not grow with
the 400+ million rows of a full set.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from forensics.matchers.errors import HashSetFormatError
from forensics.matchers.hashsets._common import Parsed, clean_hex
from forensics.matchers.models import HashSetEntry, HashSetWarning

FILE_COLUMNS = {"sha256", "sha1", "md5", "file_name", "file_size", "package_id"}


def _connect(path: str | Path) -> sqlite3.Connection:
    uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"
    try:
        connection = sqlite3.connect(uri, uri=True)
        tables = {row[0].upper(): row[1] for row in
                  connection.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table','view')")}
    except sqlite3.DatabaseError as exc:
        raise HashSetFormatError(f"{path}: not a readable SQLite database: {exc}") from exc
    if "FILE" not in tables:
        connection.close()
        raise HashSetFormatError(f"{path}: SQLite database without the RDSv3 FILE table")
    columns = {row[1].lower() for row in connection.execute("PRAGMA table_info(FILE)")}
    if not FILE_COLUMNS <= columns:
        connection.close()
        raise HashSetFormatError(f"{path}: FILE table lacks {sorted(FILE_COLUMNS - columns)}")
    return connection


def is_rdsv3(path: str | Path) -> bool:
    try:
        _connect(path).close()
    except HashSetFormatError:
        return False
    return True


def read_rdsv3(path: str | Path, distinct: bool = False) -> Iterator[Parsed]:
    connection = _connect(path)
    try:
        if distinct:
            query = "SELECT sha256, sha1, md5, NULL, NULL, NULL FROM DISTINCT_HASH"
        else:
            query = "SELECT sha256, sha1, md5, file_name, file_size, package_id FROM FILE"
        cursor = connection.execute(query)
        number = 0
        while rows := cursor.fetchmany(10_000):
            for row in rows:
                number += 1
                yield file_row(number, *row)
    finally:
        connection.close()


def file_row(number: int, sha256, sha1, md5, name, size, package) -> Parsed:
    """One FILE row as an entry, or a warning naming the row when a hash is not hex of its length."""
    try:
        return HashSetEntry(sha256=clean_hex(sha256, 64), sha1=clean_hex(sha1, 40), md5=clean_hex(md5, 32),
                            name=name, size=size, reference=None if package is None else str(package))
    except (ValueError, AttributeError) as exc:
        return HashSetWarning(number, f"FILE row {number}: {exc}")


@dataclass(frozen=True)
class NsrlPackage:
    package_id: int
    name: str
    version: str
    operating_system: str | None
    manufacturer: str | None
    language: str
    application_type: str


def read_rdsv3_packages(path: str | Path) -> Iterator[NsrlPackage]:
    """PKG rows with their OS and manufacturer names (for ``reference`` = package_id)."""
    connection = _connect(path)
    try:
        query = ("SELECT p.package_id, p.name, p.version, o.name || ' ' || o.version, m.name, "
                 "p.language, p.application_type FROM PKG p "
                 "LEFT JOIN OS o ON o.operating_system_id = p.operating_system_id "
                 "LEFT JOIN MFG m ON m.manufacturer_id = p.manufacturer_id")
        for row in connection.execute(query):
            yield NsrlPackage(*row)
    except sqlite3.OperationalError as exc:
        raise HashSetFormatError(f"{path}: no readable PKG/OS/MFG tables: {exc}") from exc
    finally:
        connection.close()
