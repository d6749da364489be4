"""``forensics process``: the DAG's stages run in-process, in the DAG's order."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from evidence_store import stages
from evidence_store.db import Database
from evidence_store.runs import RunContext


class Progress(Protocol):
    def phase(self, label: str, total: int | None) -> Callable[[int], None]: ...


class _Silent:
    def phase(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda n: None


def process_exhibit(db: Database, exhibit_id: int, ctx: RunContext | None = None,
                    credentials: stages.Credentials = (), progress: Progress | None = None) -> dict:
    """register -> scan -> walk (per volume) -> hash/type (per batch) -> finalize."""
    ctx = ctx or RunContext()
    progress = progress or _Silent()
    stages.register(db, exhibit_id, ctx)
    volume_ids = stages.scan(db, exhibit_id, ctx, credentials)
    tick = progress.phase("walk", None)
    for volume_id in volume_ids:
        stages.walk(db, volume_id, ctx, tick, credentials)
    batches = stages.plan_batches(db, exhibit_id)
    tick = progress.phase("hash + type", _pending(db, exhibit_id))
    for id_range in batches:
        stages.hash_batch(db, exhibit_id, id_range, ctx, tick, credentials)
    return stages.finalize(db, exhibit_id, ctx)


def _pending(db: Database, exhibit_id: int) -> int:
    from sqlalchemy import func, select

    from evidence_store.models import FileEntry

    with db.session() as session:
        return session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.has_content.is_(True),
            FileEntry.hash_status != "hashed")) or 0
