"""Line-oriented hash lists: md5sum/sha1sum/sha256sum, md5deep, BSD tags, hashdeep, PDQ lists.

* ``hash-list`` — one hash per line, the algorithm told by its length (32 MD5, 40 SHA-1,
  64 SHA-256): GNU coreutils ``HASH  NAME`` / ``HASH *NAME`` (a leading ``\\`` marks an
  escaped name, coreutils' ``\\\\`` and ``\\n``), a bare ``HASH``, md5deep ``-z``
  (``SIZE  HASH  NAME``) and BSD tags (``MD5 (NAME) = HASH``, also SHA1/SHA256).
  Empty lines and ``#`` comments are skipped.
* ``hashdeep`` — hashdeep file format 1.0 (hashdeep's FILEFORMAT): ``%%%% HASHDEEP-1.0``,
  then ``%%%% size,md5,...,filename`` naming the columns, ``##`` comments, CSV rows whose
  last column (the file name) may itself contain commas. A new header resets the columns.
* ``pdq-list`` — ``HEX64[<,|tab|space>CATEGORY]`` per line (not auto-detected: a 64-hex
  line is also a SHA-256 list); a first line without a hash is taken as a header.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from forensics.matchers.hashsets._common import Parsed, algorithm_of, clean_hex, open_text, to_size
from forensics.matchers.models import HashSetEntry, HashSetWarning

BSD = re.compile(r"^(MD5|SHA-?1|SHA-?256)\s*\((.*)\)\s*=\s*([0-9a-fA-F]+)\s*$", re.I)
SIZED = re.compile(r"^\s*(\d+)\s+([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})  (.*)$")
PLAIN = re.compile(r"^([0-9a-fA-F]+)(?:(?: [ *]|\t| )(.*))?$")
PDQ_LINE = re.compile(r"^([0-9a-fA-F]{64})(?:\s*[,\t ]\s*(.*))?$")
HASHDEEP_COLUMNS = {"md5", "sha1", "sha256", "size", "filename"}


def _unescape(name: str) -> str:
    return re.sub(r"\\(\\|n|r)", lambda m: {"\\": "\\", "n": "\n", "r": "\r"}[m[1]], name)


def _entry(value: str, name: str | None, size: int | None = None) -> HashSetEntry | None:
    algorithm = algorithm_of(value)
    if algorithm is None:
        return None
    return HashSetEntry(name=name or None, size=size, **{algorithm: value.lower()})


def parse_list_line(line: str) -> HashSetEntry | None:
    """One hash-list line as an entry, or None when it is none of the known layouts."""
    escaped = line.startswith("\\")
    text = line[1:] if escaped else line
    found = BSD.match(text)
    if found:
        entry = _entry(found[3], found[2])
    elif found := SIZED.match(text):
        entry = _entry(found[2], found[3], int(found[1]))
    elif found := PLAIN.match(text):
        entry = _entry(found[1], found[2])
    else:
        return None
    if entry is not None and escaped and entry.name:
        entry = HashSetEntry(md5=entry.md5, sha1=entry.sha1, sha256=entry.sha256,
                             name=_unescape(entry.name), size=entry.size)
    return entry


def read_hash_list(path: str | Path) -> Iterator[Parsed]:
    with open_text(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            entry = parse_list_line(line)
            yield entry if entry else HashSetWarning(number, f"not a hash-list line: {line[:120]!r}")


_SLOT = {32: 0, 40: 1, 64: 2}
_LOWER_HEX = re.compile(r"[0-9a-f]+")


def rows_hash_list(path: str | Path) -> Iterator[tuple | HashSetWarning]:
    """``read_hash_list`` as bulk rows: ``HASH  NAME``, ``HASH *NAME`` and bare ``HASH`` lines (nearly
    every line of a real list) without regular expressions beyond one hex check; others as before."""
    with open_text(path) as handle:
        yield from rows_of_lines(handle, 1)


def rows_of_lines(lines: Iterable[str], first: int) -> Iterator[tuple | HashSetWarning]:
    """Hash-list lines as bulk rows (``first``: the number of the first line, for warnings)."""
    for number, raw in enumerate(lines, first):
        line = raw.rstrip("\r\n")
        space = line.find(" ")
        size = space if space >= 0 else len(line)
        slot = _SLOT.get(size)
        value = line[:size]
        if slot is not None and (space < 0 or line[space + 1:space + 2] in (" ", "*")) \
                and _LOWER_HEX.fullmatch(value):
            name = line[space + 2:] or None if space >= 0 else None
            if slot == 0:
                yield value, None, None, None, None, name, None, None
            elif slot == 1:
                yield None, value, None, None, None, name, None, None
            else:
                yield None, None, value, None, None, name, None, None
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        entry = parse_list_line(line)
        if entry is None:
            yield HashSetWarning(number, f"not a hash-list line: {line[:120]!r}")
        else:
            yield (entry.md5, entry.sha1, entry.sha256, None, None, entry.name, entry.size, None)


def read_hashdeep(path: str | Path) -> Iterator[Parsed]:
    columns: list[str] | None = None
    with open_text(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.startswith("##"):
                continue
            if line.startswith("%%%%"):
                body = line[4:].strip()
                if not body.upper().startswith("HASHDEEP"):
                    columns = [c.strip().lower() for c in body.split(",")]
                    if "filename" not in columns or columns[-1] != "filename":
                        yield HashSetWarning(number, f"hashdeep column line without a final filename: {body!r}")
                        columns = None
                continue
            if columns is None:
                yield HashSetWarning(number, "hashdeep row before its %%%% column line")
                continue
            fields = line.split(",", len(columns) - 1)
            if len(fields) != len(columns):
                yield HashSetWarning(number, f"expected {len(columns)} columns: {line[:120]!r}")
                continue
            row = dict(zip(columns, fields))
            try:
                entry = HashSetEntry(md5=clean_hex(row.get("md5"), 32), sha1=clean_hex(row.get("sha1"), 40),
                                     sha256=clean_hex(row.get("sha256"), 64), name=row["filename"] or None,
                                     size=to_size(row.get("size")))
            except ValueError as exc:
                yield HashSetWarning(number, str(exc))
                continue
            if entry.md5 or entry.sha1 or entry.sha256:
                yield entry
            else:
                yield HashSetWarning(number, "no MD5, SHA-1 or SHA-256 column in this hashdeep file")


def read_pdq_list(path: str | Path) -> Iterator[Parsed]:
    with open_text(path) as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            found = PDQ_LINE.match(line)
            if found:
                category = (found[2] or "").strip().strip('"') or None
                yield HashSetEntry(pdq=found[1].lower(), category=category)
            elif number > 1:
                yield HashSetWarning(number, f"not a PDQ line (64 hex, optional category): {line[:120]!r}")
