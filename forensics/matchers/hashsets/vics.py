"""Project VIC / VICS JSON (OData), streamed with ijson: memory stays flat for any file size.

Shapes read (layout from the VICS data model and open-source importers; no public sample):

* VICS 1.x / 2.0 "Media" exports: ``{"odata.metadata" | "@odata.context": ".../$metadata#Media",
  "value": [ {media}, ... ]}``
* VICS 2.0 "Cases" exports: ``{"@odata.context": "...#Cases", "value": [ {"CaseID": ...,
  "Media": [ {media}, ... ]}, ... ]}``

The shape is told by a ``"Media": [`` within the first 64 KiB (cases list their media), and
records are then streamed with ``ijson.items`` (its C backend: ~250,000 records/s here).
A case whose ``Media`` starts later than that is still read, one whole case at a time.
A media object gives ``MD5``, ``SHA1``, ``SHA256`` (when present), ``Category`` (kept as the
raw VICS value, e.g. ``"1"``), ``MediaSize``, ``MediaID`` (→ ``reference``), ``PhotoDNA``
(base64, kept as is), a PDQ hash from ``PDQ``/``PDQHash`` or an ``AlternativeHashes`` /
``Hashes`` list item named PDQ, and the first ``MediaFiles[].FileName`` as ``name``. Keys
are matched case-insensitively.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from forensics.matchers.hashsets._common import Parsed, clean_hex
from forensics.matchers.models import HashSetEntry, HashSetWarning

NESTED = re.compile(rb'"Media"\s*:\s*\[')
SNIFF = 64 * 1024


def read_vics(path: str | Path) -> Iterator[Parsed]:
    """Media records of a VICS export; the shape is told by a ``"Media": [`` in the first 64 KiB."""
    try:
        import ijson
    except ImportError as exc:  # pragma: no cover - ijson is a dependency
        raise ImportError("reading VICS JSON needs the 'ijson' package") from exc
    with open(path, "rb") as handle:
        nested = NESTED.search(handle.read(SNIFF)) is not None
        handle.seek(0)
        prefix = "value.item.Media.item" if nested else "value.item"
        number = 0
        try:
            for record in ijson.items(handle, prefix, use_float=True):
                media = _get(record, "Media") if isinstance(record, dict) and not nested else None
                for item in media if isinstance(media, list) else (record,):
                    number += 1  # a case whose "Media" starts past the sniffed part: read whole
                    yield _media(item, number) if isinstance(item, dict) else \
                        HashSetWarning(number, f"media record {number} is not an object")
        except (ijson.JSONError, UnicodeDecodeError) as exc:   # ijson decodes strings as UTF-8 as it goes
            yield HashSetWarning(number + 1, f"JSON stops being valid after record {number}: {exc}")


def _get(record: dict, *names: str):
    lowered = {k.lower(): v for k, v in record.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value not in (None, ""):
            return value
    return None


def _pdq(record: dict) -> str | None:
    value = _get(record, "PDQ", "PDQHash")
    if value is None:
        for item in _get(record, "AlternativeHashes", "Hashes") or ():
            if isinstance(item, dict) and str(_get(item, "HashName", "Name", "Type") or "").upper() == "PDQ":
                value = _get(item, "HashValue", "Value", "Hash")
                break
    return None if value is None else str(value)


def _media(record: dict, number: int) -> Parsed:
    try:
        files = _get(record, "MediaFiles") or ()
        name = next((_get(f, "FileName") for f in files if isinstance(f, dict) and _get(f, "FileName")), None)
        size = _get(record, "MediaSize")
        category = _get(record, "Category")
        media_id = _get(record, "MediaID")
        photodna = _get(record, "PhotoDNA", "PhotoDna")
        entry = HashSetEntry(md5=clean_hex(_str(_get(record, "MD5")), 32),
                             sha1=clean_hex(_str(_get(record, "SHA1", "SHA-1")), 40),
                             sha256=clean_hex(_str(_get(record, "SHA256", "SHA-256")), 64),
                             pdq=clean_hex(_pdq(record), 64),
                             photodna=None if photodna is None else str(photodna),
                             category=None if category is None else _str(category),
                             name=name, size=int(size) if isinstance(size, (int, float)) else None,
                             reference=None if media_id is None else _str(media_id))
    except (ValueError, TypeError) as exc:
        return HashSetWarning(number, f"media record {number}: {exc}")
    if not (entry.md5 or entry.sha1 or entry.sha256 or entry.pdq or entry.photodna):
        return HashSetWarning(number, f"media record {number} has no hash")
    return entry


def _str(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)
