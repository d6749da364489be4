"""Processing runs: which stage ran, with which tool and library versions, and how it ended."""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from evidence_store.db import Database
from evidence_store.models import ProcessingRun, utcnow


def _actor() -> str:
    from evidence_store.custody.ledger import default_actor

    return default_actor()[0]


def _role() -> str:
    from evidence_store.custody.ledger import default_actor

    return default_actor()[1]


@dataclass(frozen=True)
class RunContext:
    """Who is running the stages: the CLI (one invocation id) or an Airflow task instance."""

    orchestrator: str = "cli"
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    actor: str = field(default_factory=_actor)
    role: str = field(default_factory=_role)

    def key(self, stage: str, *parts: object) -> str:
        """Idempotency key of one stage execution; long Airflow run ids are digested to fit."""
        run_id = self.run_id if len(self.run_id) <= 64 else hashlib.sha256(self.run_id.encode()).hexdigest()
        return ":".join([self.orchestrator, run_id, stage, *map(str, parts)])


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
        _custody(session, ctx, run, run_key, "stage-start")
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
            _custody(session, ctx, row, run_key, "stage-end")


def _custody(session, ctx: RunContext, run: ProcessingRun, run_key: str, action: str) -> None:
    """The stage's start or outcome as a custody event, in the run row's own transaction."""
    from evidence_store.custody.ledger import Event, append
    from evidence_store.models import Exhibit

    exhibit = session.get(Exhibit, run.exhibit_id) if run.exhibit_id else None
    if exhibit is None:
        return
    suffix = f":{run.outcome}" if action == "stage-end" else ""
    append(session, Event(
        action=action, actor=ctx.actor, actor_role=ctx.role, case_name=exhibit.case.name,
        exhibit=exhibit.number, idempotency_key=f"{action}:{run_key}{suffix}", tool_name=run.tool,
        tool_version=run.tool_version, tool_parameters={"stage": run.stage, "orchestrator": run.orchestrator,
                                                        "parameters": run.parameters,
                                                        "libraries": run.library_versions},
        outcome=run.outcome if action == "stage-end" else None,
        details={"message": run.message} if action == "stage-end" and run.message else None))
