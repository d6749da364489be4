"""The last stages: finalize (integrity re-hash, duplicates, checkpoint, complete) and the draft report."""
from __future__ import annotations

from sqlalchemy import func, select

from evidence_store.carving import carving_summary, link_duplicates
from evidence_store.custody.ledger import Event, append
from evidence_store.custody.service import auto_checkpoint, unsigned_tail
from evidence_store.db import Database
from evidence_store.models import Exhibit, FileEntry, ProcessingWarning, Volume
from evidence_store.runs import RunContext, stage_run
from evidence_store.stages.options import StageOptions
from evidence_store.store import record_warning
from forensics.errors import ImageError


def finalize(db: Database, exhibit_id: int, ctx: RunContext) -> dict[str, int | str]:
    """Re-hashes the image, compares with intake, marks the exhibit complete, signs a checkpoint."""
    from forensics.image import hash_media, inspect_source

    exhibit = _exhibit(db, exhibit_id)
    with stage_run(db, ctx, "finalize", case_id=exhibit.case_id, exhibit_id=exhibit_id,
                   parameters={"rehash": "sha256"}) as run:
        try:
            after = hash_media(inspect_source(exhibit.image_path), algorithms=("sha256",)).sha256
        except ImageError as exc:
            after, problem = None, str(exc)
        else:
            problem = None if after == exhibit.sha256 else (
                f"the image's SHA-256 is now {after}, it was {exhibit.sha256} at intake")
        with db.session() as session:
            row = session.get(Exhibit, exhibit_id)
            row.status = "complete"
            if problem:
                row.results_trusted = False
                record_warning(session, exhibit_id, "finalize", f"integrity check failed: {problem}; results "
                               "are untrusted until reviewed (forensics evidence review)", severity="error",
                               run_id=run.id)
            append(session, Event(
                action="integrity-check", actor=ctx.actor, actor_role=ctx.role, case_name=row.case.name,
                exhibit=row.number, hash_algorithm="sha256", hash_before=row.sha256, hash_after=after or "unreadable",
                hash_match=after == row.sha256, details={"run_id": run.id, "problem": problem},
                idempotency_key=f"integrity-check:{run.run_key}"))
            link_duplicates(session, exhibit_id)
            unsigned = auto_checkpoint(session, row.case.name)
            if unsigned:
                record_warning(session, exhibit_id, "finalize", unsigned, severity="warning", run_id=run.id)
        return summarize(db, exhibit_id)


def summarize(db: Database, exhibit_id: int) -> dict[str, int | str]:
    with db.session() as session:
        def count(*where) -> int:
            return session.scalar(select(func.count()).select_from(FileEntry).where(
                FileEntry.exhibit_id == exhibit_id, *where)) or 0
        exhibit = session.get(Exhibit, exhibit_id)
        return {
            "exhibit": exhibit.number, "status": exhibit.status, "verification": exhibit.verification,
            "volumes": session.scalar(select(func.count()).select_from(Volume).where(
                Volume.exhibit_id == exhibit_id)) or 0,
            "entries": count(), "deleted": count(FileEntry.allocated.is_(False)),
            "hashed": count(FileEntry.hash_status == "hashed"),
            "unreadable": count(FileEntry.hash_status == "unreadable"),
            "derived": count(FileEntry.parent_id.is_not(None)),
            "encrypted": count(FileEntry.hash_status == "encrypted"),
            "extension_mismatches": count(FileEntry.extension_mismatch.is_(True)),
            "warnings": session.scalar(select(func.count()).select_from(ProcessingWarning).where(
                ProcessingWarning.exhibit_id == exhibit_id)) or 0,
            "results_trusted": exhibit.results_trusted,
            "checkpoint": unsigned_tail(session, exhibit.case.name) or "signed",
            **carving_summary(session, exhibit_id),
        }


def run_finalize(db: Database, exhibit_id: int, item: None, ctx: RunContext, options: StageOptions) -> int:
    finalize(db, exhibit_id, ctx)
    return exhibit_id


def run_report(db: Database, exhibit_id: int, item: None, ctx: RunContext, options: StageOptions) -> int:
    """Drafts the exhibit's report; when it cannot (lab not configured...), a warning says why."""
    from evidence_store.reports.workflow import draft_for_exhibit

    row = draft_for_exhibit(db, exhibit_id, examiner=options.examiner, fmt=options.report_format,
                            actor=(ctx.actor, ctx.role))
    return 1 if row is not None else 0


def _exhibit(db: Database, exhibit_id: int) -> Exhibit:
    with db.session() as session:
        return session.get(Exhibit, exhibit_id)
