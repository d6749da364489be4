"""Reading file content out of an image for a person: always a custody event first."""
from __future__ import annotations

from collections.abc import Iterator

from evidence_store.custody.ledger import Event, append, default_actor
from evidence_store.db import Database
from evidence_store.models import FileEntry
from evidence_store.store import StoreError, get_exhibit


REVIEWER_ROLE = "reviewer"


class RestrictedContent(StoreError):
    """The file matched known-bad image material and no reviewer asked for it explicitly."""


def view_content(db: Database, case_name: str, exhibit: str, file_id: int, purpose: str,
                 actor: tuple[str, str] | None = None, reviewer_request: bool = False) -> Iterator[bytes]:
    """Records who viewed which file and why, then streams its bytes.

    A restricted file (matched a known-bad image list) is refused unless a person in
    the reviewer role asks for it explicitly; the refusal is not a view, the request is.
    """
    from datetime import datetime, timezone

    from forensics.hashing import StreamReader

    actor = actor or default_actor()
    with db.session() as session:
        row = get_exhibit(session, case_name, exhibit)
        entry = session.get(FileEntry, file_id)
        if entry is None or entry.exhibit_id != row.id:
            raise StoreError(f"exhibit {exhibit} has no file entry {file_id}")
        if not entry.has_content:
            raise StoreError(f"exhibit {exhibit}: entry {file_id} ({entry.path}) has no readable content")
        locator, path, sha256 = entry.locator, entry.path, entry.sha256
        if entry.restricted and not (reviewer_request and actor[1] == REVIEWER_ROLE):
            raise RestrictedContent(f"exhibit {exhibit}: entry {file_id} matched known-bad image material and is "
                                    "restricted; only the reviewer role may view it, with --reviewer")
        append(session, Event(action="view", actor=actor[0], actor_role=actor[1], case_name=case_name,
                              exhibit=exhibit, purpose=purpose, hash_algorithm="sha256" if sha256 else None,
                              hash_before=sha256,
                              details={"file_id": file_id, "path": path, "restricted": entry.restricted},
                              idempotency_key=f"view:{case_name}:{exhibit}:{file_id}:{actor[0]}:"
                                              f"{datetime.now(timezone.utc).isoformat()}"))
    return StreamReader().chunks(locator)
