"""``forensics process``: the DAG's stages run in-process, in the DAG's order."""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Protocol

from evidence_store import carving, matching, stages
from evidence_store.db import Database
from evidence_store.models import Exhibit
from evidence_store.runs import RunContext


class Progress(Protocol):
    def phase(self, label: str, total: int | None) -> Callable[[int], None]: ...


class _Silent:
    def phase(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda n: None


PARALLEL_MEDIA_BYTES = 512 * 1024 * 1024   # below this, starting worker processes costs more than it saves


def process_exhibit(db: Database, exhibit_id: int, ctx: RunContext | None = None,
                    credentials: stages.Credentials = (), progress: Progress | None = None,
                    workers: int | None = None, carve: bool = True, slack: bool = False,
                    match: bool = True, match_options: matching.MatchOptions | None = None) -> dict:
    """register -> scan -> walk (per volume) -> hash/type (per batch) -> carve -> match -> finalize.

    The per-volume and per-batch stages run in worker processes (one per CPU) for
    exhibits of 512 MiB and more, as Airflow's mapped tasks would; below that, in order.
    """
    ctx = ctx or RunContext()
    progress = progress or _Silent()
    stages.register(db, exhibit_id, ctx)
    volume_ids = stages.scan(db, exhibit_id, ctx, credentials)
    with db.session() as session:
        large = (session.get(Exhibit, exhibit_id).media_size or 0) >= PARALLEL_MEDIA_BYTES
    count = (workers or os.cpu_count() or 1) if (large or workers) else 1
    credentials = tuple(credentials)
    with Workers(db, count) as pool:
        pool.run("walk", [(volume_id, ctx, None, credentials) for volume_id in volume_ids],
                 progress.phase("walk", len(volume_ids)))
        batches = stages.plan_batches(db, exhibit_id)
        pool.run("hash", [(exhibit_id, id_range, ctx, None, credentials) for id_range in batches],
                 progress.phase("hash + type", len(batches)))
        if carve:
            carve_exhibit(db, exhibit_id, ctx, credentials, progress, slack=slack, pool=pool)
        if match:
            match_exhibit(db, exhibit_id, ctx, credentials, progress, options=match_options, pool=pool)
    return stages.finalize(db, exhibit_id, ctx)


def match_exhibit(db: Database, exhibit_id: int, ctx: RunContext, credentials: stages.Credentials = (),
                  progress: Progress | None = None, options: matching.MatchOptions | None = None,
                  pool: Workers | None = None) -> int:
    """Hash sets, YARA, PDQ and TLSH over the hashed files (per batch) and the carved objects."""
    progress, pool = progress or _Silent(), pool or Workers(db, 1)
    batches = stages.plan_batches(db, exhibit_id)
    found = pool.run("match", [(exhibit_id, id_range, ctx, tuple(credentials), options) for id_range in batches],
                     progress.phase("match", len(batches)))
    return found + matching.match_carved(db, exhibit_id, ctx, credentials, options)


def carve_exhibit(db: Database, exhibit_id: int, ctx: RunContext, credentials: stages.Credentials = (),
                  progress: Progress | None = None, *, slack: bool = False, pool: Workers | None = None) -> int:
    """plan-carving -> carve (per batch of ranges), as the DAG's carving branch."""
    progress, pool = progress or _Silent(), pool or Workers(db, 1)
    batches = carving.plan_carving(db, exhibit_id, ctx, slack=slack, credentials=credentials)
    return pool.run("carve", [(exhibit_id, id_range, ctx, tuple(credentials)) for id_range in batches],
                    progress.phase("carve", len(batches)))


TASKS: dict[str, Callable[..., int]] = {
    "walk": stages.walk, "hash": stages.hash_batch, "carve": carving.carve_batch, "match": matching.match_files,
}


class Workers:
    """Runs a stage over its items inline (one worker) or in a pool of spawned processes."""

    def __init__(self, db: Database, count: int) -> None:
        self._db, self._count, self._pool = db, count, None

    def __enter__(self) -> Workers:
        if self._count > 1:
            self._pool = ProcessPoolExecutor(max_workers=self._count, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(self, task: str, items: list[tuple], tick: Callable[[int], None]) -> int:
        """Runs ``task`` once per item; returns the sum of what the calls returned."""
        total = 0
        if self._pool is None or len(items) < 2:
            for args in items:
                total += TASKS[task](self._db, *args)
                tick(1)
            return total
        futures = [self._pool.submit(_worker, self._db.url, task, args) for args in items]
        for future in as_completed(futures):
            total += future.result()
            tick(1)
        return total


_worker_db: Database | None = None


def _worker(url: str, task: str, args: tuple) -> int:
    global _worker_db
    if _worker_db is None or _worker_db.url != url:
        _worker_db = Database(url)
    return TASKS[task](_worker_db, *args)
