"""Serving evidence bytes to a person: content and thumbnails, each a custody event.

Restricted items (known-bad image material), and any picture within PDQ distance 31 of a
known-bad reference even if not flagged, are served only to a reviewer who names the item and
a purpose: blurred greyscale by default, clear greyscale on an explicit reveal (its own event).
Every other request for them is refused with 403 and the refusal is recorded too.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from evidence_store.custody.ledger import Event, append
from evidence_store.db import Database
from evidence_store.models import CarvedObjectRow, Exhibit, FileEntry
from evidence_store.portal.access import Access, Denied
from evidence_store.portal.rules import Permission
from evidence_store.viewing import record_view, stream_item

MAX_PURPOSE = 500
# dfvfs and pytsk3 keep shared, non-thread-safe state (resolver caches, open file systems): every read
# of evidence bytes in the portal's worker threads goes through this lock, one chunk at a time.
EVIDENCE_LOCK = threading.Lock()
CACHED_THUMBNAILS = 512
_thumbnails: OrderedDict[tuple, object] = OrderedDict()      # (kind, id, sha256, mode) -> Thumbnail
_near: dict[tuple, object] = {}                             # known-bad index identity -> checker
_reader: list = []                                          # one StreamReader per process, used under the lock


def _stream(kind: str, row) -> Iterator[bytes]:
    if kind == "file" and not _reader:
        from forensics.reader import StreamReader

        _reader.append(StreamReader())
    return stream_item(kind, row, reader=_reader[0] if kind == "file" else None)


def _known_bad(session: Session):
    """The known-bad PDQ checker, rebuilt only when the lab's known-bad lists change."""
    from sqlalchemy import select

    from evidence_store.knowledge import known_bad_pdq
    from evidence_store.models import HashSet

    identity = tuple(session.execute(select(HashSet.id, HashSet.pdq_index_path).where(
        HashSet.kind == "known-bad", HashSet.pdq_index_path.is_not(None)).order_by(HashSet.id)).all())
    if identity not in _near:
        _near.clear()
        _near[identity] = known_bad_pdq(session)
    return _near[identity]


def _thumbnail(kind: str, row, mode: str):
    """A thumbnail made once per item and mode and kept in memory; each serving is still a view."""
    from forensics.thumbnails import make_thumbnail

    key = (kind, row.id, row.sha256, mode)
    if key in _thumbnails:
        _thumbnails.move_to_end(key)
        return _thumbnails[key]
    with EVIDENCE_LOCK:
        thumb = make_thumbnail(_stream(kind, row), mode=mode)
    _thumbnails[key] = thumb
    while len(_thumbnails) > CACHED_THUMBNAILS:
        _thumbnails.popitem(last=False)
    return thumb


@dataclass(frozen=True)
class Served:
    chunks: Iterator[bytes]
    media_type: str
    filename: str


def _locked(chunks: Iterator[bytes]) -> Iterator[bytes]:
    iterator = iter(chunks)
    while True:
        with EVIDENCE_LOCK:
            chunk = next(iterator, None)
        if chunk is None:
            return
        yield chunk


def _first_chunk_read(kind: str, item_id: int, row) -> Iterator[bytes]:
    """Opens the item and reads its first chunk, so an unreadable item fails before any view is recorded."""
    from forensics.errors import ItemError

    chunks = _locked(_stream(kind, row))
    try:
        first = next(chunks, b"")
    except (ItemError, OSError) as exc:
        raise Denied(409, f"{kind} {item_id} cannot be read: {exc}") from exc

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks
    return rest()


def _item(session: Session, kind: str, item_id: int) -> FileEntry | CarvedObjectRow:
    row = session.get(FileEntry if kind == "file" else CarvedObjectRow, item_id)
    if row is None:
        raise Denied(404, "no such item")
    return row


def _refuse(db: Database, access: Access, case_name: str, exhibit: str, kind: str, item_id: int, what: str,
            purpose: str | None, reason: str) -> None:
    from datetime import datetime, timezone

    with db.session() as session:
        append(session, Event(
            action="view-refused", actor=access.actor[0], actor_role=access.actor[1], case_name=case_name,
            exhibit=exhibit, purpose=(purpose or "").strip() or "(none stated)",
            details={"item": kind, "item_id": item_id, "what": what, "reason": reason},
            idempotency_key=f"view-refused:{case_name}:{kind}:{item_id}:{access.actor[0]}:"
                            f"{datetime.now(timezone.utc).isoformat()}"))
    raise Denied(403, reason)


def serve(db: Database, access: Access, kind: str, item_id: int, what: str, purpose: str | None,
          reveal: bool = False) -> Served:
    """``what``: content | thumbnail. Raises Denied (404/403/400/415) with a one-line reason."""
    from forensics.matchers.errors import MatcherItemError
    from forensics.thumbnails import released

    if what not in ("content", "thumbnail"):
        raise Denied(404, "no such view")
    with db.reading() as session:
        row = _item(session, kind, item_id)
        exhibit = session.get(Exhibit, row.exhibit_id)
        case = access.case_of(session, exhibit.case_id, Permission.CASE)
        case_name, number = case.name, exhibit.number
        path = row.path if kind == "file" else f"carved/{row.id}.{row.extension}"
        restricted = bool(row.restricted)
        image = (row.mime_type or "").startswith("image/")
        if kind == "file" and not row.has_content:
            raise Denied(404, f"entry {item_id} has no readable content")
        near = _known_bad(session) if image and not restricted else None
    refuse = lambda reason: _refuse(db, access, case_name, number, kind, item_id, what, purpose, reason)  # noqa: E731
    if not access.may(Permission.CONTENT) and not access.may(Permission.RESTRICTED):
        refuse(f"the {access.principal.role.value} role may not view evidence content")
    if not purpose or not purpose.strip():
        refuse("a purpose is required to view evidence (purpose=...)")
    if len(purpose) > MAX_PURPOSE:
        raise Denied(400, f"purpose longer than {MAX_PURPOSE} characters")
    if what == "thumbnail" and not image:
        raise Denied(415, f"{kind} {item_id} is not an image")
    thumb = None
    if what == "thumbnail" and not restricted:
        try:
            thumb = _thumbnail(kind, row, "colour")
        except MatcherItemError as exc:
            raise Denied(415, f"cannot make a thumbnail: {exc}") from exc
        restricted = not released(thumb, row.pdq_hash, near)    # a missed restriction is still caught
    if restricted and not access.may(Permission.RESTRICTED):
        refuse("restricted material (known-bad image): only a reviewer may view it")
    mode = ("clear" if reveal else "blurred") if restricted else "colour"
    if what == "content":
        _opened = _first_chunk_read(kind, item_id, row)
    with db.session() as session:
        record_view(session, case_name, number, kind, item_id, path, row.sha256, purpose=purpose, actor=access.actor,
                    restricted=restricted, details={"what": what, "mode": mode if what == "thumbnail" else "bytes",
                                                    "reveal": bool(reveal and restricted)})
    if what == "content":
        name = path.rsplit("/", 1)[-1] or f"{kind}-{item_id}"
        return Served(_opened, "application/octet-stream", name)
    if thumb is None or restricted:
        try:
            thumb = _thumbnail(kind, row, mode)
        except MatcherItemError as exc:
            raise Denied(415, f"cannot make a thumbnail: {exc}") from exc
    return Served(iter([thumb.png]), "image/png", f"{kind}-{item_id}.png")
