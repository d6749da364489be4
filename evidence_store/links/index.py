"""The ``links`` stage: an exhibit's linkable values, once per exhibit, in ``link_values``.

What can link two cases: equal content (SHA-256), near images (PDQ within the radius), near
documents (TLSH within the cut-off) and shared identifiers (``content_indicators`` of the exhibit's
contents, ``fs_indicators`` of its volumes). Known-good content links nothing, so neither it nor
the identifiers inside it are recorded; empty content and PDQ digests below the quality floor
neither. Rerunning the stage replaces the exhibit's rows (same rows, never duplicates).

For ``sha256``, ``pdq`` and ``tlsh`` rows ``value_key`` is the content's SHA-256 (the digest is the
``value``), so a near match between two items with the same content is not counted twice and a
known-good list imported later still stops the link at query time.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from evidence_store.db import Database
from evidence_store.models import (
    CarvedObjectRow,
    ContentIndicator,
    Exhibit,
    FileEntry,
    FileSystemIndicator,
    LinkValue,
    Volume,
)

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CONTENT_KINDS = ("sha256", "pdq", "tlsh")
BATCH = 5_000


@dataclass(slots=True)
class _Content:
    """First item seen with one content, and how many items have it."""

    item: str
    item_id: int
    location: str
    size: int | None
    pdq: str | None
    tlsh: str | None
    restricted: bool
    occurrences: int = 1


def _contents(session: Session, exhibit_id: int, min_quality: int) -> dict[str, _Content]:
    """Every non-known-good, non-empty content of the exhibit: walked, derived and carved items."""
    contents: dict[str, _Content] = {}
    queries = (
        ("file", select(FileEntry.id, FileEntry.sha256, FileEntry.path, FileEntry.size, FileEntry.pdq_hash,
                        FileEntry.pdq_quality, FileEntry.tlsh, FileEntry.restricted)
         .where(FileEntry.exhibit_id == exhibit_id, FileEntry.sha256.is_not(None), FileEntry.known_good.is_(False))
         .order_by(FileEntry.id)),
        ("carved", select(CarvedObjectRow.id, CarvedObjectRow.sha256,
                          CarvedObjectRow.volume_path, CarvedObjectRow.size, CarvedObjectRow.pdq_hash,
                          CarvedObjectRow.pdq_quality, CarvedObjectRow.tlsh, CarvedObjectRow.restricted,
                          CarvedObjectRow.offset, CarvedObjectRow.extension)
         .where(CarvedObjectRow.exhibit_id == exhibit_id, CarvedObjectRow.known_good.is_(False))
         .order_by(CarvedObjectRow.id)),
    )
    for item, query in queries:
        for row in session.execute(query.execution_options(yield_per=BATCH)):
            if row.sha256 == EMPTY_SHA256 or not row.size:
                continue
            seen = contents.get(row.sha256)
            if seen is not None:
                seen.occurrences += 1
                seen.restricted = seen.restricted or row.restricted
                continue
            location = row.path if item == "file" else \
                f"carved {row.extension} at offset {row.offset:,} of {row.volume_path or 'the image'}"
            pdq = row.pdq_hash if row.pdq_hash and (row.pdq_quality or 0) >= min_quality else None
            contents[row.sha256] = _Content(item, row.id, location, row.size, pdq, row.tlsh, row.restricted)
    return contents


def _rows(session: Session, case_id: int, exhibit_id: int, min_quality: int) -> Iterator[dict]:
    contents = _contents(session, exhibit_id, min_quality)
    base = {"case_id": case_id, "exhibit_id": exhibit_id}
    for sha256, c in contents.items():
        common = {**base, "value_key": sha256, "occurrences": c.occurrences, "size": c.size, "item": c.item,
                  "item_id": c.item_id, "location": c.location, "offset": None, "restricted": c.restricted}
        yield {**common, "kind": "sha256", "value": sha256}
        if c.pdq:
            yield {**common, "kind": "pdq", "value": c.pdq}
        if c.tlsh:
            yield {**common, "kind": "tlsh", "value": c.tlsh}
    found: dict[tuple[str, str], dict] = {}
    keys = list(contents)
    for start in range(0, len(keys), 900):          # bound the IN list (SQLite's variable limit)
        chunk = keys[start:start + 900]
        query = select(ContentIndicator.sha256, ContentIndicator.kind, ContentIndicator.value,
                       ContentIndicator.value_key, ContentIndicator.offset, ContentIndicator.encoding) \
            .where(ContentIndicator.sha256.in_(chunk)).order_by(ContentIndicator.sha256, ContentIndicator.offset)
        for row in session.execute(query):
            c = contents[row.sha256]
            seen = found.get((row.kind, row.value_key))
            if seen is None:
                text_layer = row.encoding == "pdf-text"      # a character offset in the text layer, not a byte
                found[(row.kind, row.value_key)] = {
                    **base, "kind": row.kind, "value": row.value, "value_key": row.value_key,
                    "occurrences": c.occurrences, "size": None, "item": c.item, "item_id": c.item_id,
                    "location": f"{c.location} (PDF text layer, character {row.offset:,})" if text_layer
                    else c.location, "offset": None if text_layer else row.offset, "restricted": c.restricted,
                    "_sha": {row.sha256}}
            elif row.sha256 not in seen["_sha"]:
                seen["_sha"].add(row.sha256)
                seen["occurrences"] += c.occurrences
    for row in found.values():
        del row["_sha"]
        yield row
    fs_rows = session.execute(select(FileSystemIndicator, Volume.volume_path).join(
        Volume, Volume.id == FileSystemIndicator.volume_id).where(FileSystemIndicator.exhibit_id == exhibit_id)
        .order_by(FileSystemIndicator.id))
    for fs, volume_path in fs_rows:
        key = (fs.kind, fs.value_key)
        if key in found:
            continue
        found[key] = {}
        yield {**base, "kind": fs.kind, "value": fs.value, "value_key": fs.value_key,
               "occurrences": fs.occurrences, "size": None, "item": "volume", "item_id": fs.volume_id,
               "location": f"{volume_path}: {fs.location}" if fs.location != volume_path else volume_path,
               "offset": None, "restricted": False}


def index_exhibit(db: Database, exhibit_id: int, min_quality: int = 50) -> int:
    """Replaces the exhibit's ``link_values``; returns how many values it can link by. The entries are read
    from a snapshot (``db.reading``: no 1 GiB mapping of the database file counted as this process's memory)
    while one write transaction replaces the rows."""
    with db.reading() as reader, db.session() as session:
        case_id = reader.scalar(select(Exhibit.case_id).where(Exhibit.id == exhibit_id))
        session.execute(delete(LinkValue).where(LinkValue.exhibit_id == exhibit_id))
        count, batch = 0, []
        for row in _rows(reader, case_id, exhibit_id, min_quality):
            batch.append(row)
            if len(batch) >= BATCH:
                session.execute(insert(LinkValue), batch)
                count, batch = count + len(batch), []
        if batch:
            session.execute(insert(LinkValue), batch)
            count += len(batch)
        return count
