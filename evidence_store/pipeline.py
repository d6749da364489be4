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
from concurrent.futures.process import BrokenProcessPool
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
                    only: Iterable[str] | None = None, isolate: bool = False) -> dict:
    """Runs every enabled stage of the registry on an exhibit (``only``: just these stages, in order).

    ``isolate`` (the CLI's default): every per-item stage runs in worker processes, restarted when one
    dies; a batch whose worker died is run again item by item to find the item that kills it, which
    is recorded and skipped (docs/architecture.md, crash isolation)."""
    from evidence_store.stages.finish import summarize

    ctx, options, progress = ctx or RunContext(), options or StageOptions(), progress or _Silent()
    wanted = set(only) if only is not None else None
    with db.session() as session:
        large = (session.get(Exhibit, exhibit_id).media_size or 0) >= PARALLEL_MEDIA_BYTES
        scanning = options.match and session.scalar(select(RuleSet.id).limit(1)) is not None
    count = (workers or os.cpu_count() or 1) if (large or scanning or workers or isolate) else 1
    with Workers(db, count, always=bool(large or workers or isolate), isolate=isolate, ctx=ctx, options=options,
                 exhibit_id=exhibit_id) as pool:
        for stage in STAGES:
            if not stage.enabled(options) or (wanted is not None and stage.name not in wanted):
                continue
            run_stage(db, stage, exhibit_id, ctx, options, pool, progress)
    return summarize(db, exhibit_id)


def run_stage(db: Database, stage: Stage, exhibit_id: int, ctx: RunContext, options: StageOptions,
              pool: Workers, progress: Progress) -> int:
    if not stage.per_item:
        pool.release()            # no worker idles through a stage run here (each holds its caches and rules)
        done = stage.function("run")(db, exhibit_id, None, ctx, options)
        progress.phase(stage.name, 1)(1)
        return done
    items = stage.function("plan")(db, exhibit_id, ctx, options)
    heavy = stage.name in ("content", "derived") and len(items) >= SCANNING_MIN_BATCHES   # YARA over 2,000+
    return pool.run(stage.name, [(exhibit_id, item, ctx, options) for item in items],
                    progress.phase(stage.name, len(items)), parallel=heavy)


class Workers:
    """Runs a stage over its items inline (one worker) or in a pool of spawned processes.

    With ``always`` every per-item stage uses the pool; otherwise only a stage that asks for it
    (``parallel=True``), and the pool is started the first time one does. With ``isolate`` the pool
    is used even for one worker, and a worker that dies costs one item, not the exhibit."""

    def __init__(self, db: Database, count: int, always: bool = True, *, isolate: bool = False,
                 ctx: RunContext | None = None, options: StageOptions | None = None, exhibit_id: int = 0) -> None:
        self._db, self._count, self._always, self._pool = db, count, always, None
        self._isolate, self._ctx, self._options, self._exhibit = isolate, ctx, options or StageOptions(), exhibit_id

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown()

    def run(self, stage: str, items: list[tuple], tick: Callable[[int], None], parallel: bool = False) -> int:
        """Runs the stage once per item; returns the sum of what the calls returned."""
        total = 0
        pooled = self._isolate or (self._count >= 2 and len(items) >= 2 and (self._always or parallel))
        if not pooled:
            function = BY_NAME[stage].function("run")
            for args in items:
                total += function(self._db, *args)
                tick(1)
            return total
        futures = {self._started().submit(_worker, self._db.url, stage, args): args for args in items}
        died = []
        for future in as_completed(futures):
            try:
                total += future.result()
            except BrokenProcessPool:
                died.append(futures[future])
                continue
            tick(1)
        if died:
            self.release()
            for args in sorted(died, key=repr):
                total += self._one_by_one(stage, args)
                tick(1)
        return total

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=max(1, self._count),
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_limit_memory, initargs=(self._options.worker_memory,))
        return self._pool

    def release(self) -> None:
        """Stops the workers (started again by the next per-item stage that needs them, or after one died)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def _one_by_one(self, stage: str, args: tuple) -> int:
        """A batch whose worker died (it or one beside it): each of its items alone, in a worker; an item
        that kills its worker again is recorded as lost and the rest go on."""
        spec = BY_NAME[stage]
        exhibit_id, item, ctx, options = args
        parts = spec.function("split")(self._db, exhibit_id, item, ctx, options) if spec.split else [item]
        total = 0
        for part in parts:
            try:
                total += self._started().submit(_worker, self._db.url, stage, (exhibit_id, part, ctx, options)).result()
            except BrokenProcessPool:
                self.release()
                reason = ("the worker process reading it died (a crash in a native parser, or the worker's memory "
                          f"limit of {options.worker_memory:,} bytes)")
                if spec.lost:
                    spec.function("lost")(self._db, exhibit_id, part, ctx, options, reason)
                else:
                    _record_lost(self._db, exhibit_id, stage, part, reason)
        return total


def _record_lost(db: Database, exhibit_id: int, stage: str, item, reason: str) -> None:
    from evidence_store.store import record_warning

    with db.session() as session:
        record_warning(session, exhibit_id, stage, f"{stage} item {item}: {reason}; skipped (the other items were "
                       "processed)", severity="error")


def _limit_memory(limit: int) -> None:
    """Worker initializer: an address-space limit, so one item cannot take the machine's memory."""
    if limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


_worker_db: Database | None = None


def _worker(url: str, stage: str, args: tuple) -> int:
    global _worker_db
    if _worker_db is None or _worker_db.url != url:
        _worker_db = Database(url)
    return BY_NAME[stage].function("run")(_worker_db, *args)
