"""Serving evidence bytes to a person: content and thumbnails, each a custody event.

Restricted items (known-bad image material), and any picture within PDQ distance 31 of a
known-bad reference even if not flagged, are served only to a reviewer who names the item and
a purpose: blurred greyscale by default, clear greyscale on an explicit reveal (its own event).
Every other request for them is refused with 403 and the refusal is recorded too.
"""
from __future__ import annotations

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


@dataclass(frozen=True)
class Served:
    chunks: Iterator[bytes]
    media_type: str
    filename: str


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
    from evidence_store.knowledge import known_bad_pdq
    from forensics.matchers.errors import MatcherItemError
    from forensics.thumbnails import make_thumbnail, released

    if what not in ("content", "thumbnail"):
        raise Denied(404, "no such view")
    with db.session() as session:
        row = _item(session, kind, item_id)
        exhibit = session.get(Exhibit, row.exhibit_id)
        case = access.case_of(session, exhibit.case_id, Permission.CASE)
        case_name, number = case.name, exhibit.number
        path = row.path if kind == "file" else f"carved/{row.id}.{row.extension}"
        restricted = bool(row.restricted)
        image = (row.mime_type or "").startswith("image/")
        if kind == "file" and not row.has_content:
            raise Denied(404, f"entry {item_id} has no readable content")
        near = known_bad_pdq(session) if image and not restricted else None
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
            thumb = make_thumbnail(stream_item(kind, row), mode="colour")
        except MatcherItemError as exc:
            raise Denied(415, f"cannot make a thumbnail: {exc}") from exc
        restricted = not released(thumb, row.pdq_hash, near)    # a missed restriction is still caught
    if restricted and not access.may(Permission.RESTRICTED):
        refuse("restricted material (known-bad image): only a reviewer may view it")
    mode = ("clear" if reveal else "blurred") if restricted else "colour"
    with db.session() as session:
        record_view(session, case_name, number, kind, item_id, path, row.sha256, purpose=purpose, actor=access.actor,
                    restricted=restricted, details={"what": what, "mode": mode if what == "thumbnail" else "bytes",
                                                    "reveal": bool(reveal and restricted)})
    if what == "content":
        name = path.rsplit("/", 1)[-1] or f"{kind}-{item_id}"
        return Served(stream_item(kind, row), "application/octet-stream", name)
    if thumb is None or restricted:
        try:
            thumb = make_thumbnail(stream_item(kind, row), mode=mode)
        except MatcherItemError as exc:
            raise Denied(415, f"cannot make a thumbnail: {exc}") from exc
    return Served(iter([thumb.png]), "image/png", f"{kind}-{item_id}.png")
