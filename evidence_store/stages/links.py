"""The ``links`` stage: records what the exhibit can share with other cases (evidence_store.links.index)."""
from __future__ import annotations

from sqlalchemy import select

from evidence_store.db import Database
from evidence_store.links.index import index_exhibit
from evidence_store.models import Exhibit
from evidence_store.runs import RunContext, stage_run
from evidence_store.stages.options import StageOptions


def run(db: Database, exhibit_id: int, item: None, ctx: RunContext, options: StageOptions) -> int:
    with db.session() as session:
        case_id = session.scalar(select(Exhibit.case_id).where(Exhibit.id == exhibit_id))
    with stage_run(db, ctx, "links", case_id=case_id, exhibit_id=exhibit_id,
                   parameters={"pdq_min_quality": options.pdq_min_quality}):
        return index_exhibit(db, exhibit_id, options.pdq_min_quality)
