"""``forensics process``: the DAG's stages run in-process, in the DAG's order."""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Protocol

from evidence_store import carving, matching, stages
from evidence_store.db import Database
from evidence_store.runs import RunContext


PARALLEL_THRESHOLD = 2000   # below this, starting worker processes costs more than it saves


class Progress(Protocol):
    def phase(self, label: str, total: int | None) -> Callable[[int], None]: ...


class _Silent:
    def phase(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda n: None


def process_exhibit(db: Database, exhibit_id: int, ctx: RunContext | None = None,
                    credentials: stages.Credentials = (), progress: Progress | None = None,
                    workers: int | None = None, carve: bool = True, slack: bool = False,
                    match: bool = True, match_options: matching.MatchOptions | None = None) -> dict:
    """register -> scan -> walk (per volume) -> hash/type (per batch) -> carve -> match -> finalize."""
    ctx = ctx or RunContext()
    progress = progress or _Silent()
    stages.register(db, exhibit_id, ctx)
    volume_ids = stages.scan(db, exhibit_id, ctx, credentials)
    tick = progress.phase("walk", None)
    for volume_id in volume_ids:
        stages.walk(db, volume_id, ctx, tick, credentials)
    batches = stages.plan_batches(db, exhibit_id)
    pending = _pending(db, exhibit_id)
    tick = progress.phase("hash + type", pending)
    workers = min(workers or os.cpu_count() or 1, len(batches))
    if workers > 1 and pending >= PARALLEL_THRESHOLD:
        _hash_in_workers(db, exhibit_id, batches, ctx, credentials, tick, workers)
    else:
        for id_range in batches:
            stages.hash_batch(db, exhibit_id, id_range, ctx, tick, credentials)
    if carve:
        carve_exhibit(db, exhibit_id, ctx, credentials, progress, slack=slack)
    if match:
        match_exhibit(db, exhibit_id, ctx, credentials, progress, batches=batches, options=match_options)
    return stages.finalize(db, exhibit_id, ctx)


def match_exhibit(db: Database, exhibit_id: int, ctx: RunContext, credentials: stages.Credentials = (),
                  progress: Progress | None = None, batches: list[list[int]] | None = None,
                  options: matching.MatchOptions | None = None) -> int:
    """Hash sets, YARA, PDQ and TLSH over the hashed files (per batch) and the carved objects."""
    progress = progress or _Silent()
    batches = batches if batches is not None else stages.plan_batches(db, exhibit_id)
    tick = progress.phase("match", len(batches) + 1)
    found = 0
    for id_range in batches:
        found += matching.match_files(db, exhibit_id, id_range, ctx, credentials, options)
        tick(1)
    found += matching.match_carved(db, exhibit_id, ctx, credentials, options)
    tick(1)
    return found


def carve_exhibit(db: Database, exhibit_id: int, ctx: RunContext, credentials: stages.Credentials = (),
                  progress: Progress | None = None, *, slack: bool = False) -> int:
    """plan-carving -> carve (per batch of ranges), as the DAG's carving branch."""
    progress = progress or _Silent()
    batches = carving.plan_carving(db, exhibit_id, ctx, slack=slack, credentials=credentials)
    tick = progress.phase("carve", len(batches))
    found = 0
    for id_range in batches:
        found += carving.carve_batch(db, exhibit_id, id_range, ctx, credentials)
        tick(1)
    return found


def _hash_in_workers(db: Database, exhibit_id: int, batches: list[list[int]], ctx: RunContext,
                     credentials: stages.Credentials, tick: Callable[[int], None], workers: int) -> None:
    """Hash batches in worker processes, as Airflow's mapped tasks would run them."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_hash_worker, db.url, exhibit_id, id_range, ctx, tuple(credentials))
                   for id_range in batches]
        for future in as_completed(futures):
            tick(future.result())


_worker_db: Database | None = None


def _hash_worker(url: str, exhibit_id: int, id_range: list[int], ctx: RunContext,
                 credentials: tuple) -> int:
    global _worker_db
    if _worker_db is None or _worker_db.url != url:
        _worker_db = Database(url)
    return stages.hash_batch(_worker_db, exhibit_id, id_range, ctx, None, credentials)


def _pending(db: Database, exhibit_id: int) -> int:
    from sqlalchemy import func, select

    from evidence_store.models import FileEntry

    with db.session() as session:
        return session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.has_content.is_(True),
            FileEntry.hash_status != "hashed")) or 0
