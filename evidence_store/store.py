"""Writes and lookups shared by the stages: idempotent upserts, runs, warnings."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence_store.models import Case, Exhibit, ProcessingWarning


class StoreError(Exception):
    """A lookup or write that cannot be done, with a message for the technician."""


def insert_for(session: Session, model):
    """The dialect's INSERT that supports ON CONFLICT (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def upsert(session: Session, model, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str] | None = None) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE (or DO NOTHING when ``update`` is empty)."""
    if not rows:
        return
    statement = insert_for(session, model)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(keys), set_={c: statement.excluded[c] for c in update})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(statement, list(rows))  # executemany: one compiled statement for the batch


def get_case(session: Session, name: str) -> Case:
    case = session.scalar(select(Case).where(Case.name == name))
    if case is None:
        raise StoreError(f"case {name!r} does not exist (create it with: forensics case create {name})")
    return case


def get_exhibit(session: Session, case_name: str, number: str) -> Exhibit:
    case = get_case(session, case_name)
    exhibit = session.scalar(select(Exhibit).where(Exhibit.case_id == case.id, Exhibit.number == number))
    if exhibit is None:
        raise StoreError(f"exhibit {number!r} is not registered in case {case_name!r} "
                         "(add it with: forensics evidence add IMAGE --case ... --exhibit ...)")
    return exhibit


def warning_key(stage: str, volume_id: int | None, path: str | None, message: str) -> str:
    text = f"{stage}\x00{volume_id}\x00{path}\x00{message}"
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def record_warning(session: Session, exhibit_id: int, stage: str, message: str, *,
                   path: str | None = None, severity: str = "warning", run_id: int | None = None,
                   volume_id: int | None = None, file_entry_id: int | None = None,
                   detail: str | None = None) -> None:
    """Adds a warning once: the same problem seen again on a re-run adds no row."""
    upsert(session, ProcessingWarning, [dict(
        exhibit_id=exhibit_id, stage=stage, message=message, path=path, severity=severity,
        run_id=run_id, volume_id=volume_id, file_entry_id=file_entry_id, detail=detail or None,
        warning_key=warning_key(stage, volume_id, path, message),
    )], keys=["exhibit_id", "warning_key"])


def id_ranges(session: Session, id_column, *where, buckets: int) -> list[list[int]]:
    """Splits the ids matching ``where`` into at most ``buckets`` contiguous [first, last] ranges
    of near-equal counts (SQL ``ntile``), so batches can be mapped without listing ids."""
    numbered = select(id_column.label("id"), func.ntile(buckets).over(order_by=id_column).label("bucket")) \
        .where(*where).subquery()
    rows = session.execute(select(func.min(numbered.c.id), func.max(numbered.c.id))
                           .group_by(numbered.c.bucket).order_by(func.min(numbered.c.id))).all()
    return [[int(lo), int(hi)] for lo, hi in rows]
