"""``forensics process``: the registry's stages, run in its order, in this process or a worker pool.

The per-item stages (walk per file system, content per batch of entries, carve per batch of
ranges) run in worker processes (one per CPU) for exhibits of 512 MiB and more, as Airflow's
mapped tasks would; below that, in order in this process. A stage whose option is off is skipped.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Protocol

from evidence_store.db import Database
from evidence_store.models import Exhibit
from evidence_store.runs import RunContext
from evidence_store.stages.options import StageOptions
from evidence_store.stages.registry import BY_NAME, STAGES, Stage


class Progress(Protocol):
    def phase(self, label: str, total: int | None) -> Callable[[int], None]: ...


class _Silent:
    def phase(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda n: None


PARALLEL_MEDIA_BYTES = 512 * 1024 * 1024   # below this, starting worker processes costs more than it saves


def process_exhibit(db: Database, exhibit_id: int, ctx: RunContext | None = None, options: StageOptions | None = None,
                    progress: Progress | None = None, workers: int | None = None,
                    only: Iterable[str] | None = None) -> dict:
    """Runs every enabled stage of the registry on an exhibit (``only``: just these stages, in order)."""
    from evidence_store.stages.finish import summarize

    ctx, options, progress = ctx or RunContext(), options or StageOptions(), progress or _Silent()
    wanted = set(only) if only is not None else None
    with db.session() as session:
        large = (session.get(Exhibit, exhibit_id).media_size or 0) >= PARALLEL_MEDIA_BYTES
    count = (workers or os.cpu_count() or 1) if (large or workers) else 1
    with Workers(db, count) as pool:
        for stage in STAGES:
            if not stage.enabled(options) or (wanted is not None and stage.name not in wanted):
                continue
            run_stage(db, stage, exhibit_id, ctx, options, pool, progress)
    return summarize(db, exhibit_id)


def run_stage(db: Database, stage: Stage, exhibit_id: int, ctx: RunContext, options: StageOptions,
              pool: Workers, progress: Progress) -> int:
    if not stage.per_item:
        done = stage.function("run")(db, exhibit_id, None, ctx, options)
        progress.phase(stage.name, 1)(1)
        return done
    items = stage.function("plan")(db, exhibit_id, ctx, options)
    return pool.run(stage.name, [(exhibit_id, item, ctx, options) for item in items],
                    progress.phase(stage.name, len(items)))


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

    def run(self, stage: str, items: list[tuple], tick: Callable[[int], None]) -> int:
        """Runs the stage once per item; returns the sum of what the calls returned."""
        total = 0
        if self._pool is None or len(items) < 2:
            function = BY_NAME[stage].function("run")
            for args in items:
                total += function(self._db, *args)
                tick(1)
            return total
        futures = [self._pool.submit(_worker, self._db.url, stage, args) for args in items]
        for future in as_completed(futures):
            total += future.result()
            tick(1)
        return total


_worker_db: Database | None = None


def _worker(url: str, stage: str, args: tuple) -> int:
    global _worker_db
    if _worker_db is None or _worker_db.url != url:
        _worker_db = Database(url)
    return BY_NAME[stage].function("run")(_worker_db, *args)
