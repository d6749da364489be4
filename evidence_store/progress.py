"""An exhibit's processing progress, read from the rows the stages write as they go.

Used by the portal (polled, and pushed over SSE) while ``forensics process`` or the DAG runs in
other processes: volumes walked, entries hashed, byte ranges carved and items matched, each as
done/total; every stage's runs (running, succeeded, failed); and the warnings recorded since
the last look.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from evidence_store.listings import iso, utc
from evidence_store.stages.registry import STAGES as REGISTRY
from evidence_store.models import CarvedObjectRow, CarveRangeRow, Exhibit, FileEntry, ProcessingRun, ProcessingWarning, Volume

STAGES = ("intake",) + tuple(stage.name for stage in REGISTRY)
FINISHED = ("complete", "failed", "halted")


@dataclass(frozen=True)
class StageProgress:
    stage: str
    runs: int
    running: int
    succeeded: int
    failed: int


@dataclass(frozen=True)
class Progress:
    exhibit: str
    status: str
    error: str | None
    finished: bool
    volumes_walked: int
    volumes: int
    entries: int
    hashed: int
    to_hash: int
    matched: int
    carve_ranges_done: int
    carve_ranges: int
    carved: int
    files_per_second: float | None      # entries hashed per second since the hash stage began
    stages: tuple[StageProgress, ...]
    warnings: tuple[dict, ...]
    last_warning_id: int
    at: str

    def as_json(self) -> dict:
        return asdict(self)


def progress(session: Session, exhibit: Exhibit, after_warning: int = 0, warnings_limit: int = 50) -> Progress:
    eid = exhibit.id

    def count(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.exhibit_id == eid, *where)) or 0

    rows = session.execute(select(
        ProcessingRun.stage, func.count(),
        func.sum(case((ProcessingRun.outcome == "running", 1), else_=0)),
        func.sum(case((ProcessingRun.outcome == "success", 1), else_=0)),
        func.sum(case((ProcessingRun.outcome.in_(("failed", "halted")), 1), else_=0)))
        .where(ProcessingRun.exhibit_id == eid).group_by(ProcessingRun.stage)).all()
    by_stage = {stage: StageProgress(stage, total, int(running or 0), int(ok or 0), int(bad or 0))
                for stage, total, running, ok, bad in rows}
    stages = tuple(by_stage[s] for s in STAGES if s in by_stage) + tuple(
        v for s, v in sorted(by_stage.items()) if s not in STAGES)
    hash_window = session.execute(select(func.min(ProcessingRun.started_at), func.max(ProcessingRun.ended_at),
                                         func.sum(case((ProcessingRun.outcome == "running", 1), else_=0)))
                                  .where(ProcessingRun.exhibit_id == eid, ProcessingRun.stage == "content")).first()
    hashed = count(FileEntry, FileEntry.hash_status.in_(("hashed", "unreadable")))
    rate = None
    if hash_window and hash_window[0] is not None:
        started = utc(hash_window[0])
        ended = datetime.now(timezone.utc) if hash_window[2] or hash_window[1] is None else utc(hash_window[1])
        seconds = (ended - started).total_seconds()
        rate = round(hashed / seconds, 1) if seconds > 0 else None
    warnings = session.execute(select(ProcessingWarning.id, ProcessingWarning.stage, ProcessingWarning.severity,
                                      ProcessingWarning.path, ProcessingWarning.message, ProcessingWarning.created_at)
                               .where(ProcessingWarning.exhibit_id == eid, ProcessingWarning.id > after_warning)
                               .order_by(ProcessingWarning.id).limit(warnings_limit)).all()
    listed = tuple({"id": w.id, "stage": w.stage, "severity": w.severity, "path": w.path, "message": w.message,
                    "at": iso(w.created_at)} for w in warnings)
    return Progress(
        exhibit=exhibit.number, status=exhibit.status, error=exhibit.error, finished=exhibit.status in FINISHED,
        volumes_walked=count(Volume, Volume.kind == "filesystem", Volume.walk_status != "pending"),
        volumes=count(Volume, Volume.kind == "filesystem"), entries=count(FileEntry),
        hashed=hashed, files_per_second=rate,
        to_hash=count(FileEntry, FileEntry.has_content.is_(True)),
        matched=count(FileEntry, FileEntry.hash_status == "hashed", FileEntry.match_status != "pending"),
        carve_ranges_done=count(CarveRangeRow, CarveRangeRow.status != "pending"),
        carve_ranges=count(CarveRangeRow), carved=count(CarvedObjectRow), stages=stages, warnings=listed,
        last_warning_id=listed[-1]["id"] if listed else after_warning,
        at=iso(datetime.now().astimezone()) or "")
