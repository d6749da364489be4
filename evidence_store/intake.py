"""Intake: registering an exhibit and verifying the media hash before anything else."""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

import forensics
from evidence_store.custody.ledger import Event, append, default_actor
from evidence_store.db import Database
from evidence_store.models import Case, Exhibit
from evidence_store.runs import RunContext, StageFailed, stage_run
from evidence_store.store import StoreError, get_case, get_exhibit, record_warning
from forensics.errors import ImageError
from forensics.image import hash_media, inspect_source

Progress = Callable[[int], None]


CASE_FIELDS = ("title", "examiner", "requester", "request_reference", "legal_authority", "contact")


def create_case(db: Database, name: str, title: str = "", examiner: str = "",
                actor: tuple[str, str] | None = None, **request: str | None) -> Case:
    """Opens case NAME; ``request``: requester, request_reference, legal_authority, contact."""
    actor = actor or default_actor()
    unknown = set(request) - set(CASE_FIELDS)
    if unknown:
        raise TypeError(f"unknown case fields {sorted(unknown)}")
    if not name.strip():
        raise StoreError("a case name must not be empty")
    with db.session() as session:
        case = session.scalar(select(Case).where(Case.name == name))
        if case is None:
            given = {k: v for k, v in request.items() if v}
            case = Case(name=name, title=title, examiner=examiner, **given)
            session.add(case)
            append(session, Event(action="case-opened", actor=actor[0], actor_role=actor[1], case_name=name,
                                  authority=given.get("legal_authority"),
                                  idempotency_key=f"case-opened:{name}",
                                  details={"title": title, "examiner": examiner, **given}))
        return case


def update_case(db: Database, name: str, actor: tuple[str, str] | None = None, **changes: str | None) -> Case:
    """Changes a case's title, examiner, requester, reference, authority or contact (a custody event)."""
    actor = actor or default_actor()
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise TypeError(f"unknown case fields {sorted(unknown)}")
    with db.session() as session:
        case = get_case(session, name)
        before = {k: getattr(case, k) for k in CASE_FIELDS}
        for key, value in changes.items():
            if value is not None:
                setattr(case, key, value)
        after = {k: getattr(case, k) for k in CASE_FIELDS}
        if after != before:
            from datetime import datetime, timezone

            append(session, Event(action="case-updated", actor=actor[0], actor_role=actor[1], case_name=name,
                                  authority=case.legal_authority,
                                  idempotency_key=f"case-updated:{name}:{datetime.now(timezone.utc).isoformat()}",
                                  details={"before": before, "after": after}))
        return case


def add_exhibit(db: Database, case_name: str, number: str, image_path: str, examiner: str, *,
                expected_sha256: str | None = None, override_reason: str | None = None,
                description: str | None = None, seals: tuple[str, ...] = (), condition: str | None = None,
                received: datetime | None = None,
                ctx: RunContext | None = None, on_size: Callable[[int], None] | None = None,
                progress: Progress | None = None) -> Exhibit:
    """Registers the image and hashes its media once; a mismatch halts the exhibit.

    Re-adding the same image under the same number is a no-op re-verification;
    a different image under an existing number is refused.
    """
    ctx = ctx or RunContext()
    image_path = os.path.abspath(image_path)
    with db.session() as session:
        case = get_case(session, case_name)
        exhibit = session.scalar(select(Exhibit).where(Exhibit.case_id == case.id, Exhibit.number == number))
        if exhibit is not None and exhibit.image_path != image_path:
            raise StoreError(f"exhibit {number} of case {case_name} is already registered for "
                             f"{exhibit.image_path}, not {image_path}")
        if exhibit is None:
            exhibit = Exhibit(case_id=case.id, number=number, examiner=examiner, image_path=image_path,
                              custodian=examiner, description=description)
            session.add(exhibit)
            append(session, Event(action="intake", actor=ctx.actor, actor_role=ctx.role, case_name=case_name,
                                  exhibit=number, root_exhibit=number, location=image_path,
                                  purpose="evidence submitted for processing", to_custodian=examiner,
                                  seals_applied=tuple(seals) or None, occurred=received,
                                  idempotency_key=f"intake:{case_name}:{number}:{image_path}",
                                  details={"examiner": examiner, "expected_sha256": expected_sha256,
                                           "description": description, "condition": condition}))
        exhibit.expected_sha256 = expected_sha256.lower() if expected_sha256 else exhibit.expected_sha256
        exhibit.override_reason = override_reason or exhibit.override_reason
        session.flush()
        ids = (case.id, exhibit.id)
        force = exhibit.sha256 is None or exhibit.status in ("halted", "failed") or bool(override_reason)
    verify_exhibit(db, ids[1], ctx=ctx, force=force, on_size=on_size, progress=progress)
    with db.session() as session:
        return session.get(Exhibit, ids[1])


def verify_exhibit(db: Database, exhibit_id: int, *, ctx: RunContext, force: bool = False,
                   on_size: Callable[[int], None] | None = None, progress: Progress | None = None) -> None:
    """Hashes the media (unless already hashed) and compares with every known hash."""
    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        label, case_id = exhibit.number, exhibit.case_id
        if exhibit.sha256 and not force:
            _check_verdict(exhibit)
            return
        path = exhibit.image_path
    params = {"image": path}
    with stage_run(db, ctx, "intake", case_id=case_id, exhibit_id=exhibit_id, parameters=params) as run:
        try:
            info = inspect_source(path)
            if on_size:
                on_size(info.media_size)
            digest = hash_media(info, progress)
        except ImageError as exc:
            _hash_what_was_received(db, ctx, exhibit_id, run.id, path, exc, progress)
            fail_exhibit(db, exhibit_id, run.id, "intake", str(exc), exc.detail)
            raise StageFailed(label, str(exc)) from exc
        with db.session() as session:
            exhibit = session.get(Exhibit, exhibit_id)
            exhibit.image_format, exhibit.segments = info.image_format, list(info.segments)
            exhibit.media_locator, exhibit.media_size = info.media_locator, info.media_size
            exhibit.md5, exhibit.sha1, exhibit.sha256 = digest.md5, digest.sha1, digest.sha256
            exhibit.stored_hashes = info.stored_hashes
            mismatches = _mismatches(exhibit)
            _record_verification(session, ctx, exhibit, run.id)
            compared = bool(exhibit.expected_sha256) or bool(info.stored_hashes)
            if mismatches and exhibit.override_reason:
                exhibit.verification = "override"
                exhibit.status, exhibit.error = "registered", None
                record_warning(session, exhibit_id, "intake", "hash mismatch overridden: "
                               + "; ".join(mismatches) + f" (reason: {exhibit.override_reason})",
                               severity="error", run_id=run.id)
            elif mismatches:
                exhibit.verification, exhibit.status = "mismatch", "halted"
                exhibit.error = "hash mismatch: " + "; ".join(mismatches)
                record_warning(session, exhibit_id, "intake", exhibit.error, severity="error", run_id=run.id)
            else:
                exhibit.verification = "verified" if compared else "unverified"
                exhibit.status, exhibit.error = "registered", None
        with db.session() as session:
            _check_verdict(session.get(Exhibit, exhibit_id))


def _hash_what_was_received(db: Database, ctx: RunContext, exhibit_id: int, run_id: int, path: str,
                            error: ImageError, progress: Progress | None) -> None:
    """An exhibit whose format is not recognized (or cannot be read as one) still gets the hashes and
    size of the file received, recorded on the exhibit and in the custody ledger, before it stops."""
    from forensics.image import hash_file

    if error.kind in ("not-found", "missing-segment") or not os.path.isfile(path):
        return
    try:
        digest = hash_file(path, progress)
    except OSError:
        return                                    # the read error is the exhibit's error already
    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        exhibit.md5, exhibit.sha1, exhibit.sha256 = digest.md5, digest.sha1, digest.sha256
        exhibit.media_size, exhibit.image_format, exhibit.segments = digest.size, "unrecognized", [path]
        case_name = exhibit.case.name
        for algorithm in ("md5", "sha1", "sha256"):
            value = getattr(digest, algorithm)
            known = exhibit.expected_sha256 if algorithm == "sha256" else None
            append(session, Event(
                action="hash-verification", actor=ctx.actor, actor_role=ctx.role, case_name=case_name,
                exhibit=exhibit.number, hash_algorithm=algorithm, hash_before=known, hash_after=value,
                hash_match=(known == value) if known else None, tool_name=forensics.TOOL_NAME,
                tool_version=forensics.__version__,
                details={"compared_with": "technician" if known else None, "run_id": run_id,
                         "hashed": "the file as received (its format was not recognized)",
                         "size": digest.size, "reason": str(error)},
                idempotency_key=f"hash-verification:{case_name}:{exhibit.number}:{algorithm}:{known}:{value}:raw"))


def _comparisons(exhibit: Exhibit) -> list[tuple[str, str | None, str, str]]:
    """(algorithm, known value, computed value, source of the known value) for each check made."""
    computed = {"md5": exhibit.md5, "sha1": exhibit.sha1, "sha256": exhibit.sha256}
    checks = [("sha256", exhibit.expected_sha256, exhibit.sha256, "technician")] if exhibit.expected_sha256 else []
    checks += [(algorithm, stored, computed[algorithm], "stored in image")
               for algorithm, stored in sorted((exhibit.stored_hashes or {}).items()) if algorithm in computed]
    return checks or [("sha256", None, exhibit.sha256, "none")]


def _record_verification(session, ctx: RunContext, exhibit: Exhibit, run_id: int) -> None:
    case_name = exhibit.case.name
    for algorithm, known, computed, source in _comparisons(exhibit):
        append(session, Event(
            action="hash-verification", actor=ctx.actor, actor_role=ctx.role, case_name=case_name,
            exhibit=exhibit.number, hash_algorithm=algorithm, hash_before=known, hash_after=computed,
            hash_match=(known == computed) if known else None, tool_name=forensics.TOOL_NAME,
            tool_version=forensics.__version__, details={"compared_with": source, "run_id": run_id,
                                                          "override_reason": exhibit.override_reason},
            idempotency_key=f"hash-verification:{case_name}:{exhibit.number}:{algorithm}:{known}:{computed}:"
                            f"{exhibit.override_reason}"))


def _mismatches(exhibit: Exhibit) -> list[str]:
    found = []
    if exhibit.expected_sha256 and exhibit.expected_sha256 != exhibit.sha256:
        found.append(f"SHA-256 is {exhibit.sha256}, technician expected {exhibit.expected_sha256}")
    computed = {"md5": exhibit.md5, "sha1": exhibit.sha1, "sha256": exhibit.sha256}
    for algorithm, stored in (exhibit.stored_hashes or {}).items():
        if algorithm in computed and stored != computed[algorithm]:
            found.append(f"{algorithm.upper()} is {computed[algorithm]}, image records {stored}")
    return found


def _check_verdict(exhibit: Exhibit) -> None:
    if exhibit.verification == "mismatch":
        raise StageFailed(exhibit.number, f"{exhibit.error}; processing halted "
                          "(re-add with --override-mismatch REASON to proceed, the override is recorded)")
    if exhibit.status == "failed":
        raise StageFailed(exhibit.number, exhibit.error or "intake failed")


def fail_exhibit(db: Database, exhibit_id: int, run_id: int, stage: str, message: str, detail: str = "") -> None:
    """Stops an exhibit: its status says why, and the full reason is a warning row."""
    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        exhibit.status, exhibit.error = "failed", message
        record_warning(session, exhibit_id, stage, message, severity="error", run_id=run_id, detail=detail)


def lookup_exhibit(db: Database, case_name: str, number: str) -> tuple[int, int]:
    with db.session() as session:
        exhibit = get_exhibit(session, case_name, number)
        return exhibit.case_id, exhibit.id

