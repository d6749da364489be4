"""Reading evidence content for a person: always a custody event first, in one place.

``view_content`` (CLI), report thumbnails and the portal all go through ``record_view`` and
``stream_item``: a restricted item (known-bad image material) is refused unless a reviewer
asks for it explicitly, and every look is a ``view`` event naming who, in which role,
which item and why.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from evidence_store.custody.ledger import Event, append, default_actor
from evidence_store.db import Database
from evidence_store.models import CarvedObjectRow, FileEntry
from evidence_store.store import StoreError, get_exhibit

REVIEWER_ROLE = "reviewer"


class RestrictedContent(StoreError):
    """The file matched known-bad image material and no reviewer asked for it explicitly."""


def record_view(session: Session, case_name: str, exhibit: str, kind: str, item_id: int, path: str,
                sha256: str | None, *, purpose: str, actor: tuple[str, str], restricted: bool,
                key: str | None = None, details: dict | None = None) -> None:
    """The custody ``view`` event for one look at one item (file entry or carved object)."""
    if not purpose or not purpose.strip():
        raise StoreError(f"exhibit {exhibit}: a purpose is required to view evidence content")
    when = datetime.now(timezone.utc).isoformat()
    append(session, Event(action="view", actor=actor[0], actor_role=actor[1], case_name=case_name,
                          exhibit=exhibit, purpose=purpose.strip(), hash_algorithm="sha256" if sha256 else None,
                          hash_before=sha256,
                          details={"item": kind, f"{'file' if kind == 'file' else 'carved'}_id": item_id,
                                   "path": path, "restricted": restricted, **(details or {})},
                          idempotency_key=key or f"view:{case_name}:{exhibit}:{kind}:{item_id}:{actor[0]}:{when}"))


def stream_item(kind: str, row: FileEntry | CarvedObjectRow, credentials=(), reader=None) -> Iterator[bytes]:
    """The item's bytes: a file entry read out of the image, a carved object from the artifact store.

    ``reader``: a long-lived ``StreamReader`` (it keeps images and file systems open between items)."""
    if kind == "carved":
        def artifact() -> Iterator[bytes]:
            with open(row.artifact_path, "rb") as handle:
                yield from iter(lambda: handle.read(1 << 20), b"")
        return artifact()
    if reader is None:
        from forensics.reader import StreamReader

        reader = StreamReader(credentials)
    return reader.chunks(row.locator)


def may_see_restricted(actor: tuple[str, str], reviewer_request: bool) -> bool:
    return reviewer_request and actor[1] == REVIEWER_ROLE


def view_content(db: Database, case_name: str, exhibit: str, file_id: int, purpose: str,
                 actor: tuple[str, str] | None = None, reviewer_request: bool = False) -> Iterator[bytes]:
    """Records who viewed which file and why, then streams its bytes.

    A restricted file (matched a known-bad image list) is refused unless a person in
    the reviewer role asks for it explicitly; the refusal is not a view, the request is.
    """
    actor = actor or default_actor()
    with db.session() as session:
        row = get_exhibit(session, case_name, exhibit)
        entry = session.get(FileEntry, file_id)
        if entry is None or entry.exhibit_id != row.id:
            raise StoreError(f"exhibit {exhibit} has no file entry {file_id}")
        if not entry.has_content:
            raise StoreError(f"exhibit {exhibit}: entry {file_id} ({entry.path}) has no readable content")
        if entry.restricted and not may_see_restricted(actor, reviewer_request):
            raise RestrictedContent(f"exhibit {exhibit}: entry {file_id} matched known-bad image material and is "
                                    "restricted; only the reviewer role may view it, with --reviewer")
        record_view(session, case_name, exhibit, "file", file_id, entry.path, entry.sha256, purpose=purpose,
                    actor=actor, restricted=entry.restricted)
    return stream_item("file", entry)
