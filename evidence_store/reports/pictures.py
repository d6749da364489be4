"""Thumbnails for the disclosure edition: only non-restricted images that matched, made on the server.

Each picture is read through the evidence content path (a custody ``view`` event naming the
report), reduced to a greyscale pixelated PNG by :mod:`forensics.thumbnails`, and released
only if neither it nor its source is within PDQ distance 31 of a known-bad reference.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.db import Database
from evidence_store.knowledge import known_bad_pdq
from evidence_store.models import CarvedObjectRow, Exhibit, FileEntry, Finding
from evidence_store.reports.model import ThumbnailPart

LIMIT = 60
RADIUS = 31


def candidates(session: Session, exhibit_ids: Sequence[int], limit: int = LIMIT) -> list[tuple[str, object]]:
    """Non-restricted images with a match finding, files then carved objects, by id."""
    files = session.scalars(
        select(FileEntry).where(FileEntry.exhibit_id.in_(exhibit_ids), FileEntry.restricted.is_(False),
                                FileEntry.known_good.is_(False), FileEntry.mime_type.like("image/%"),
                                FileEntry.id.in_(select(Finding.file_entry_id).where(Finding.outcome == "match")))
        .order_by(FileEntry.id).limit(limit)).all()
    carved = session.scalars(
        select(CarvedObjectRow).where(CarvedObjectRow.exhibit_id.in_(exhibit_ids),
                                      CarvedObjectRow.restricted.is_(False), CarvedObjectRow.mime_type.like("image/%"),
                                      CarvedObjectRow.id.in_(select(Finding.carved_object_id).where(
                                          Finding.outcome == "match")))
        .order_by(CarvedObjectRow.id).limit(max(0, limit - len(files)))).all()
    return [("file", row) for row in files] + [("carved", row) for row in carved]


def thumbnails(db: Database, session: Session, case_name: str, exhibit_ids: Sequence[int], report_id: str,
               actor: tuple[str, str]) -> tuple[tuple[ThumbnailPart, ...], int]:
    """(released thumbnails, number withheld by the known-bad check); ``session`` reads, views are
    recorded in transactions of their own."""
    from evidence_store.viewing import record_view, stream_item
    from forensics.matchers.errors import MatcherItemError
    from forensics.thumbnails import make_thumbnail, released

    near = known_bad_pdq(session, RADIUS)
    numbers = dict(session.execute(select(Exhibit.id, Exhibit.number).where(Exhibit.id.in_(exhibit_ids))).all())
    made, withheld = [], 0
    for kind, row in candidates(session, exhibit_ids):
        path = row.path if kind == "file" else f"carved/{row.id}.{row.extension}"
        with db.session() as writer:
            record_view(writer, case_name, numbers[row.exhibit_id], kind, row.id, path, row.sha256,
                        purpose=f"thumbnail for report {report_id}", actor=actor, restricted=False,
                        key=f"report-thumbnail:{report_id}:{kind}:{row.id}")
        try:
            thumb = make_thumbnail(stream_item(kind, row))
        except MatcherItemError:
            continue
        if not released(thumb, row.pdq_hash, near):
            withheld += 1
            continue
        made.append(ThumbnailPart(kind, row.id, path, "data:image/png;base64," + base64.b64encode(thumb.png).decode(),
                                  thumb.width, thumb.height))
    return tuple(made), withheld
