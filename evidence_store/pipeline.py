"""``forensics process``: the registry's stages, run in its order, in this process or a worker pool.

The per-item stages (walk per file system, content per batch of entries, carve per batch of
ranges) run in worker processes (one per CPU) for exhibits of 512 MiB and more, or whenever YARA
rule sets are to be matched over 2,000 entries or more (scanning is CPU-bound whatever the media
size), as Airflow's mapped tasks would; otherwise in order in this process. A stage whose option is off is skipped.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Protocol

from sqlalchemy import select

from evidence_store.db import Database
from evidence_store.models import Exhibit, RuleSet
from evidence_store.runs import RunContext
from evidence_store.stages.options import StageOptions
from evidence_store.stages.registry import BY_NAME, STAGES, Stage


class Progress(Protocol):
    def phase(self, label: str, total: int | None) -> Callable[[int], None]: ...


class _Silent:
    def phase(self, label: str, total: int | None) -> Callable[[int], None]:
        return lambda n: None


PARALLEL_MEDIA_BYTES = 512 * 1024 * 1024   # below this, starting worker processes costs more than it saves
SCANNING_MIN_BATCHES = 4                   # content batches (of 500 entries) worth two YARA workers


def process_exhibit(db: Database, exhibit_id: int, ctx: RunContext | None = None, options: StageOptions | None = None,
                    progress: Progress | None = None, workers: int | None = None,
                    only: Iterable[str] | None = None) -> dict:
    """Runs every enabled stage of the registry on an exhibit (``only``: just these stages, in order)."""
    from evidence_store.stages.finish import summarize

    ctx, options, progress = ctx or RunContext(), options or StageOptions(), progress or _Silent()
    wanted = set(only) if only is not None else None
    with db.session() as session:
        large = (session.get(Exhibit, exhibit_id).media_size or 0) >= PARALLEL_MEDIA_BYTES
        scanning = options.match and session.scalar(select(RuleSet.id).limit(1)) is not None
    count = (workers or os.cpu_count() or 1) if (large or scanning or workers) else 1
    with Workers(db, count, always=bool(large or workers)) as pool:
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
    heavy = stage.name == "content" and len(items) >= SCANNING_MIN_BATCHES    # YARA over 2,000+ entries
    return pool.run(stage.name, [(exhibit_id, item, ctx, options) for item in items],
                    progress.phase(stage.name, len(items)), parallel=heavy)


class Workers:
    """Runs a stage over its items inline (one worker) or in a pool of spawned processes.

    With ``always`` every per-item stage uses the pool; otherwise only a stage that asks for it
    (``parallel=True``), and the pool is started the first time one does."""

    def __init__(self, db: Database, count: int, always: bool = True) -> None:
        self._db, self._count, self._always, self._pool = db, count, always, None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(self, stage: str, items: list[tuple], tick: Callable[[int], None], parallel: bool = False) -> int:
        """Runs the stage once per item; returns the sum of what the calls returned."""
        total = 0
        if self._count < 2 or len(items) < 2 or not (self._always or parallel):
            function = BY_NAME[stage].function("run")
            for args in items:
                total += function(self._db, *args)
                tick(1)
            return total
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self._count, mp_context=multiprocessing.get_context("spawn"))
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
