"""The report workflow: draft -> authorised (by a second person) -> issued; amendments are new reports.

Every rendering is produced from the database and the ledger, written to the case's report
store, and its SHA-256 recorded in the custody ledger (``report-draft``, ``report-authorise``,
``report-issue``). Authorising and issuing re-render the report and refuse if what it states
(``ReportContent.digest``) changed since the draft: a reviewer authorises exactly what is issued.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import forensics
from evidence_store.custody.ledger import Event, append, default_actor, head
from evidence_store.db import Database, data_dir
from evidence_store.lab import settings
from evidence_store.listings.findings import finding_rows
from evidence_store.models import Case, Exhibit, ProcessingRun, Report, ReportEdition, ReportFormat, ReportState, utcnow
from evidence_store.reports import render
from evidence_store.reports.assemble import assemble, custody_parts, link_parts
from evidence_store.reports.model import to_json
from evidence_store.reports.attachments import write_findings
from evidence_store.store import StoreError, get_case, get_exhibit

REPORT_FORMAT = "forensics-report/1"


class ReportError(StoreError):
    """A report that cannot be made, authorised or issued as asked; the message says why."""


@dataclass(frozen=True)
class Rendered:
    path: Path
    sha256: str
    content_sha256: str
    findings: int
    findings_sha256: str
    stated: dict


def create(db: Database, case_name: str, *, examiner: str, fmt: str = "pdf", edition: str = "prosecution",
           exhibits: list[str] | None = None, declaration: str | None = None, output: Path | None = None,
           allow_incomplete: bool = False, amends: str | None = None,
           actor: tuple[str, str] | None = None) -> Report:
    """Makes a draft; refuses incomplete exhibits unless ``allow_incomplete`` (then says so on page 1)."""
    actor = actor or default_actor()
    fmt, edition = ReportFormat(fmt), ReportEdition(edition)
    if not examiner.strip():
        raise ReportError("the examiner's name is required (--examiner)")
    with db.session() as session:
        case = get_case(session, case_name)
        lab = settings(session)
        declaration = (declaration or "").strip() or (lab.declaration or "").strip()
        if not declaration:
            raise ReportError("no examiner declaration: give --declaration-file FILE, or set the lab's standard "
                              "declaration once with 'forensics lab configure ... --declaration-file FILE'")
        scope = _scope(session, case, exhibits)
        problems = incomplete(session, scope)
        if problems and not allow_incomplete:
            raise ReportError("; ".join(problems) + " (wait for processing to finish, or use --allow-incomplete: "
                              "the report's first page will then say it is incomplete)")
        if amends:
            _check_amends(session, case, amends)
        number = (session.scalar(select(func.count()).select_from(Report).where(Report.case_id == case.id)) or 0) + 1
        row = Report(report_id=f"{case.name}-R{number:03d}", case_id=case.id, exhibits=[e.number for e in scope],
                     edition=edition, format=fmt, state=ReportState.DRAFT, examiner=examiner.strip(),
                     declaration=declaration, amends=amends, allow_incomplete=allow_incomplete,
                     incomplete=problems or None)
        session.add(row)
        session.flush()
        report_pk, state = row.id, _state(row)
    try:
        rendered = _render(db, state, actor)
    except BaseException:
        with db.session() as session:
            session.delete(session.get(Report, report_pk))
        raise
    with db.session() as session:
        row = session.get(Report, report_pk)
        row.content_sha256, row.findings_sha256, row.findings = (rendered.content_sha256, rendered.findings_sha256,
                                                                 rendered.findings)
        row.sha256, row.path = rendered.sha256, str(rendered.path)
        _event(session, "report-draft", row, actor, rendered)
    if output:
        shutil.copyfile(rendered.path, output)
    return _get(db, report_pk)


def authorise(db: Database, report_id: str, *, reviewer: str, note: str | None = None,
              actor: tuple[str, str] | None = None) -> Report:
    """A second person authorises the draft for release (ISO/IEC 17025 7.8.1.1)."""
    actor = actor or default_actor()
    if not reviewer.strip():
        raise ReportError("the reviewer's name is required (--reviewer)")
    with db.session() as session:
        row = _by_id(session, report_id)
        if row.state != ReportState.DRAFT:
            raise ReportError(f"report {report_id} is {row.state.value}, not a draft: only a draft is authorised")
        if _person(reviewer) == _person(row.examiner):
            raise ReportError(f"report {report_id}: the reviewer must be a different person from the examiner "
                              f"({row.examiner}); ISO/IEC 17025 7.8.1.1")
        state = _state(row)
    state["workflow"] = replace(state["workflow"], state=ReportState.AUTHORISED.value, reviewer=reviewer.strip(),
                                review_note=note, authorised_at=utcnow())
    rendered = _render(db, state, actor)
    with db.session() as session:
        row = _current(session, report_id, ReportState.DRAFT, state["sha256"])
        _unchanged(report_id, row.content_sha256, rendered, "the draft was made")
        workflow = state["workflow"]
        row.state, row.reviewer, row.review_note, row.authorised_at = (ReportState.AUTHORISED, workflow.reviewer,
                                                                       workflow.review_note, workflow.authorised_at)
        previous, row.sha256, row.path = row.sha256, rendered.sha256, str(rendered.path)
        _event(session, "report-authorise", row, actor, rendered, before=previous)
        return row


def issue(db: Database, report_id: str, *, actor: tuple[str, str] | None = None) -> Report:
    """Makes an authorised report final: signs the ledger head, renders it into the report, records the file."""
    from evidence_store.custody.service import auto_checkpoint, verify
    from evidence_store.custody.signing import load_private, sign_checkpoint

    actor = actor or default_actor()
    with db.session() as session:
        row = _by_id(session, report_id)
        if row.state != ReportState.AUTHORISED:
            raise ReportError(f"report {report_id} is {row.state.value}: only an authorised report is issued "
                              f"(forensics report authorise {report_id} --reviewer NAME)")
        state, case_name = _state(row), session.get(Case, row.case_id).name
    key = load_private()
    if key is None:
        raise ReportError("issuing a report signs the custody ledger's head, and this machine has no lab signing "
                          "key: create one with 'forensics custody keygen'")
    reports, _anchor = verify(db, case_name)
    bad = [p for r in reports for p in r.problems]
    if bad:
        raise ReportError(f"report {report_id} not issued: the custody ledger of case {case_name} fails verification "
                          f"at sequence {bad[0].seq} ({bad[0].kind}: {bad[0].message})")
    with db.session() as session:
        checkpoint = sign_checkpoint(session, case_name, key)
        ledger_head = {"chain": checkpoint.chain, "seq": checkpoint.seq, "head_hash": checkpoint.head_hash,
                       "signed_at": checkpoint.signed_at, "key_fingerprint": checkpoint.key_fingerprint,
                       "signature": checkpoint.signature, "verified": True,
                       "note": "the whole chain verified just before this head was signed"}
    state["workflow"] = replace(state["workflow"], state=ReportState.ISSUED.value, issued_at=utcnow(),
                                ledger_head=ledger_head)
    rendered = _render(db, state, actor)
    with db.session() as session:
        row = _current(session, report_id, ReportState.AUTHORISED, state["sha256"])
        _unchanged(report_id, row.content_sha256, rendered, "it was authorised")
        row.state, row.issued_at, row.ledger_head = ReportState.ISSUED, state["workflow"].issued_at, ledger_head
        previous, row.sha256, row.path = row.sha256, rendered.sha256, str(rendered.path)
        _event(session, "report-issue", row, actor, rendered, before=previous)
        if row.amends:
            _by_id(session, row.amends).superseded_by = row.report_id
    with db.session() as session:
        auto_checkpoint(session, case_name)      # protects the issue event itself
        return _by_id(session, report_id)


def list_reports(db: Database, case_name: str) -> list[Report]:
    with db.session() as session:
        case = get_case(session, case_name)
        return list(session.scalars(select(Report).where(Report.case_id == case.id).order_by(Report.id)))


def incomplete(session: Session, exhibits: list[Exhibit]) -> list[str]:
    """Why each exhibit is not ready to report: still processing, or a stage whose last run failed."""
    problems = []
    for exhibit in exhibits:
        if exhibit.status != "complete":
            problems.append(f"exhibit {exhibit.number} is {exhibit.status}, not complete")
        latest: dict[str, ProcessingRun] = {}
        for run in session.scalars(select(ProcessingRun).where(ProcessingRun.exhibit_id == exhibit.id)
                                   .order_by(ProcessingRun.id)):
            latest[(run.stage, json.dumps(run.parameters, sort_keys=True, default=str))] = run
        failed = sorted({run.stage for run in latest.values() if run.outcome in ("failed", "halted")})
        if failed:
            problems.append(f"exhibit {exhibit.number} has failed stage(s): {', '.join(failed)}")
    return problems


# --- internals -----------------------------------------------------------------------------------------

def _scope(session: Session, case: Case, numbers: list[str] | None) -> list[Exhibit]:
    if numbers:
        return [get_exhibit(session, case.name, number) for number in dict.fromkeys(numbers)]
    scope = list(session.scalars(select(Exhibit).where(Exhibit.case_id == case.id).order_by(Exhibit.id)))
    if not scope:
        raise ReportError(f"case {case.name} has no exhibits to report on")
    return scope


def _check_amends(session: Session, case: Case, amends: str) -> None:
    old = _by_id(session, amends)
    if old.case_id != case.id:
        raise ReportError(f"report {amends} belongs to another case")
    if old.state != ReportState.ISSUED:
        raise ReportError(f"report {amends} is {old.state.value}: only an issued report is amended "
                          "(a draft is simply replaced by a new draft)")
    if old.superseded_by:
        raise ReportError(f"report {amends} was already replaced by {old.superseded_by}")


def _by_id(session: Session, report_id: str) -> Report:
    row = session.scalar(select(Report).where(Report.report_id == report_id))
    if row is None:
        raise ReportError(f"no report {report_id!r} (forensics report list --case CASE)")
    return row


def _current(session: Session, report_id: str, expected: ReportState, sha256: str | None) -> Report:
    """The row again, refusing if someone else moved it on while this rendering was made."""
    row = _by_id(session, report_id)
    if row.state != expected or row.sha256 != sha256:
        raise ReportError(f"report {report_id} changed while it was being rendered (now {row.state.value}); "
                          "try again")
    return row


def _state(row: Report) -> dict:
    """Everything a rendering needs, detached from the session."""
    return dict(report_id=row.report_id, case_id=row.case_id, exhibits=list(row.exhibits), edition=row.edition.value,
                fmt=row.format.value, incomplete=list(row.incomplete or []), sha256=row.sha256,
                workflow=_workflow(row))


def _get(db: Database, pk: int) -> Report:
    with db.session() as session:
        return session.get(Report, pk)


def _person(name: str) -> str:
    return re.sub(r"[\s.]+", " ", name).strip().casefold()


def _unchanged(report_id: str, expected: str | None, rendered: Rendered, since: str) -> None:
    if expected and rendered.content_sha256 != expected:
        raise ReportError(f"report {report_id}: what the report states changed since {since} (content digest "
                          f"{expected[:16]} is now {rendered.content_sha256[:16]}); make a new draft with "
                          "'forensics report create'")


def _event(session: Session, action: str, row: Report, actor: tuple[str, str], rendered: Rendered,
           before: str | None = None) -> None:
    case_name = session.get(Case, row.case_id).name
    append(session, Event(
        action=action, actor=actor[0], actor_role=actor[1], case_name=case_name, purpose=f"case report {action[7:]}",
        hash_algorithm="sha256", hash_before=before, hash_after=rendered.sha256, tool_name=forensics.TOOL_NAME,
        tool_version=forensics.__version__,
        details={"report_id": row.report_id, "state": row.state.value, "edition": row.edition.value,
                 "format": row.format.value, "exhibits": row.exhibits, "examiner": row.examiner,
                 "reviewer": row.reviewer, "amends": row.amends, "content_sha256": rendered.content_sha256,
                 "findings": rendered.findings, "findings_sha256": rendered.findings_sha256,
                 "file": rendered.path.name,
                 "ledger_head": {k: row.ledger_head[k] for k in ("seq", "head_hash")} if row.ledger_head else None},
        idempotency_key=f"{action}:{row.report_id}:{rendered.sha256}"))


def report_dir(db: Database, case_name: str) -> Path:
    return data_dir(db.url) / "reports" / re.sub(r"[^A-Za-z0-9._-]", "_", case_name)


def _render(db: Database, state: dict, actor: tuple[str, str]) -> Rendered:
    """Renders a report state from a read snapshot; returns the file and its digests.

    No write transaction is held meanwhile (thumbnails record their views in their own).
    """
    from evidence_store.reports.pictures import thumbnails

    workflow: render.Workflow = state["workflow"]
    if workflow.ledger_head is None:
        workflow = _with_unsigned_head(db, state["case_id"], workflow)
    with db.reading() as reader, tempfile.TemporaryDirectory(prefix="report-") as tmp:
        case = reader.get(Case, state["case_id"])
        scope = [get_exhibit(reader, case.name, number) for number in state["exhibits"]]
        ids = [e.id for e in scope]
        findings = write_findings(reader, case.id, ids, Path(tmp))
        content = assemble(reader, case, scope, report_id=state["report_id"], edition=state["edition"],
                           findings=findings.count, findings_sha256=findings.sha256, incomplete=state["incomplete"])
        extra = {"custody": custody_parts(reader, case.name, scope), "links": link_parts(reader, case, scope)}
        if state["edition"] == ReportEdition.DISCLOSURE.value:
            pictures, withheld = thumbnails(db, reader, case.name, ids, f"{state['report_id']} ({workflow.state})",
                                            actor)
            extra.update(thumbnails=pictures, withheld_thumbnails=withheld)
        content = replace(content, **extra)
        notable = list(finding_rows(reader, case.id, ids, notable=True, limit=render.NOTABLE_LIMIT))
        report_json = _report_json(state, workflow, content)
        json_path = Path(tmp, "report.json")
        json_path.write_text(json.dumps(report_json, sort_keys=True, indent=1, ensure_ascii=False), encoding="utf-8")
        suffix = "" if workflow.state == "issued" else f".{workflow.state}"
        target_dir = report_dir(db, case.name)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{re.sub(r'[^A-Za-z0-9._-]', '_', state['report_id'])}{suffix}.{state['fmt']}"
        partial = target.with_name(target.name + ".part")
        if state["fmt"] == "pdf":
            render.write_pdf(partial, content, workflow, notable, finding_rows(reader, case.id, ids), [
                ("report.json", json_path, "What this report states, its workflow and the custody ledger head",
                 "application/json", "Data"),
                ("findings.json", findings.json_path, "Every finding (canonical JSON; SHA-256 printed in the report)",
                 "application/json", "Data"),
                ("findings.csv", findings.csv_path, "Every finding, as a table", "text/csv", "Data")])
        else:
            render.write_html(partial, content, workflow, notable, finding_rows(reader, case.id, ids), report_json,
                              findings.json_path)
    if target.exists():
        raise ReportError(f"{target} already exists: a rendering is never overwritten")
    partial.rename(target)
    return Rendered(target, _sha256(target), content.digest(), findings.count, findings.sha256, content.stated())


def _workflow(row: Report) -> render.Workflow:
    return render.Workflow(state=row.state.value, examiner=row.examiner, declaration=row.declaration,
                           created_at=row.created_at, reviewer=row.reviewer, review_note=row.review_note,
                           authorised_at=row.authorised_at, issued_at=row.issued_at, amends=row.amends,
                           ledger_head=row.ledger_head)


def _with_unsigned_head(db: Database, case_id: int, workflow: render.Workflow) -> render.Workflow:
    with db.reading() as session:
        name = session.get(Case, case_id).name
        seq, head_hash = head(session, name)
    note = "a draft carries the current head unsigned; the issued report carries a signed one"
    return replace(workflow, ledger_head={"chain": name, "seq": seq, "head_hash": head_hash, "signed_at": None,
                                          "key_fingerprint": None, "signature": None, "verified": False,
                                          "note": note})


def _report_json(state: dict, workflow: render.Workflow, content) -> dict:
    return {"format": REPORT_FORMAT, "report_id": state["report_id"], "case": content.case.name,
            "exhibits": state["exhibits"], "edition": state["edition"], "state": workflow.state,
            "examiner": workflow.examiner, "reviewer": workflow.reviewer,
            "created_at": render._when(workflow.created_at), "authorised_at": render._when(workflow.authorised_at),
            "issued_at": render._when(workflow.issued_at), "amends": workflow.amends,
            "content_sha256": content.digest(), "findings": content.findings,
            "findings_sha256": content.findings_sha256, "ledger_head": workflow.ledger_head,
            "stated": content.stated(), "links": to_json(content.links)}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def draft_for_exhibit(db: Database, exhibit_id: int, *, examiner: str | None = None, fmt: str = "pdf",
                      actor: tuple[str, str] | None = None) -> Report | None:
    """The pipeline's last step: a draft report on one exhibit, by its examiner.

    When a report cannot be made (the lab is not configured, no standard declaration), the
    reason is recorded as a warning on the exhibit and None is returned: processing itself
    succeeded, and the examiner drafts the report with ``forensics report create`` later.
    """
    from evidence_store.store import record_warning

    with db.session() as session:
        exhibit = session.get(Exhibit, exhibit_id)
        case_name, number, default_examiner = exhibit.case.name, exhibit.number, exhibit.examiner
    try:
        return create(db, case_name, examiner=examiner or default_examiner, fmt=fmt, exhibits=[number], actor=actor)
    except StoreError as exc:
        with db.session() as session:
            record_warning(session, exhibit_id, "report", f"no draft report was made: {exc}", severity="warning")
        return None
