"""Processing runs: which stage ran, with which tool and library versions, and how it ended."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from evidence_store.db import Database
from evidence_store.models import ProcessingRun, utcnow


@dataclass(frozen=True)
class RunContext:
    """Who is running the stages: the CLI (one invocation id) or an Airflow task instance."""

    orchestrator: str = "cli"
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def key(self, stage: str, *parts: object) -> str:
        return ":".join([self.orchestrator, self.run_id, stage, *map(str, parts)])


def library_versions() -> dict[str, str]:
    import sqlalchemy

    from forensics.versions import library_versions as forensics_versions

    return {**forensics_versions(), "sqlalchemy": sqlalchemy.__version__}


class StageFailed(Exception):
    """A stage stopped for an exhibit; the reason is already recorded in the database."""

    def __init__(self, exhibit: str, message: str) -> None:
        super().__init__(f"exhibit {exhibit}: {message}")
        self.exhibit = exhibit
        self.message = message


@contextmanager
def stage_run(db: Database, ctx: RunContext, stage: str, *, case_id: int | None,
              exhibit_id: int | None, parameters: dict[str, Any], key_parts: tuple = ()) -> Iterator[ProcessingRun]:
    """Records a run row (idempotent by run key) and its outcome, in transactions of its own."""
    import forensics

    run_key = ctx.key(stage, exhibit_id, *key_parts)
    with db.session() as session:
        run = session.scalar(select(ProcessingRun).where(ProcessingRun.run_key == run_key))
        if run is None:
            run = ProcessingRun(run_key=run_key)
            session.add(run)
        run.case_id, run.exhibit_id, run.stage = case_id, exhibit_id, stage
        run.tool, run.tool_version = forensics.TOOL_NAME, forensics.__version__
        run.library_versions, run.parameters = library_versions(), parameters
        run.orchestrator, run.started_at, run.ended_at = ctx.orchestrator, utcnow(), None
        run.outcome, run.message = "running", None
    outcome, message = "success", None
    try:
        yield run
    except StageFailed as exc:
        outcome, message = "halted", exc.message
        raise
    except BaseException as exc:
        outcome, message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with db.session() as session:
            row = session.get(ProcessingRun, run.id)
            row.ended_at, row.outcome, row.message = utcnow(), outcome, message
