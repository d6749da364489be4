"""The carving stage in the registry's shape: plan the ranges, then carve batches of them."""
from __future__ import annotations

from evidence_store import carving
from evidence_store.db import Database
from evidence_store.runs import RunContext
from evidence_store.stages.options import StageOptions


def plan(db: Database, exhibit_id: int, ctx: RunContext, options: StageOptions) -> list[list[int]]:
    return carving.plan_carving(db, exhibit_id, ctx, slack=options.slack, credentials=options.credentials,
                                batch_bytes=options.carve_batch_bytes)


def run_batch(db: Database, exhibit_id: int, id_range: list[int], ctx: RunContext, options: StageOptions) -> int:
    return carving.carve_batch(db, exhibit_id, id_range, ctx, credentials=options.credentials)
