"""What the portal shows, as JSON-ready rows: the same listings the CLI and the reports use."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.accounts import member_cases
from evidence_store.listings import as_json
from evidence_store.listings.files import FileFilter, file_rows
from evidence_store.listings.findings import finding_rows
from evidence_store.models import (CarvedObjectRow, Case, CustodyEvent, Exhibit, Report, ReportState)
from evidence_store.portal.access import Access, Denied
from evidence_store.portal.rules import Permission
from evidence_store.queries import CARVED_COLUMNS

MAX_LIMIT = 1000
# the auditor's "who viewed what": looks at evidence, refusals, and what was learnt about this case from another
VIEW_ACTIONS = ("view", "view-refused", "link-access", "link-revealed")


def limit_of(value: int | None, default: int = 200) -> int:
    if value is None:
        return default
    if value < 1 or value > MAX_LIMIT:
        raise Denied(400, f"limit must be between 1 and {MAX_LIMIT}")
    return value


def cases(session: Session, access: Access) -> list[dict]:
    return [{"name": c.name, "title": c.title, "examiner": c.examiner, "requester": c.requester,
             "request_reference": c.request_reference, "contact": c.contact,
             "created_at": as_json_time(c.created_at)} for c in member_cases(session, access.principal.id)]


def as_json_time(value) -> str | None:
    from evidence_store.listings import iso

    return iso(value)


def exhibits(session: Session, case_id: int) -> list[dict]:
    rows = session.scalars(select(Exhibit).where(Exhibit.case_id == case_id).order_by(Exhibit.id))
    return [{"number": e.number, "description": e.description, "status": e.status, "verification": e.verification,
             "image_format": e.image_format, "media_size": e.media_size, "md5": e.md5, "sha1": e.sha1,
             "sha256": e.sha256, "results_trusted": e.results_trusted, "custodian": e.custodian,
             "error": e.error} for e in rows]


def exhibit(session: Session, case_id: int, number: str) -> Exhibit:
    row = session.scalar(select(Exhibit).where(Exhibit.case_id == case_id, Exhibit.number == number))
    if row is None:
        raise Denied(404, f"no exhibit {number!r} in this case")
    return row


def files(session: Session, case_id: int, where: FileFilter, limit: int, after_id: int = 0) -> list[dict]:
    return [as_json(row) for row in file_rows(session, case_id, where, limit=limit, after_id=after_id)]


def findings(session: Session, case_id: int, exhibit_id: int | None, limit: int, after_id: int = 0) -> list[dict]:
    ids = [exhibit_id] if exhibit_id else None
    return [as_json(row) for row in finding_rows(session, case_id, ids, after_id=after_id, limit=limit)]


def carved(session: Session, exhibit_id: int, limit: int, after_id: int = 0) -> list[dict]:
    rows = session.scalars(select(CarvedObjectRow).where(CarvedObjectRow.exhibit_id == exhibit_id,
                                                         CarvedObjectRow.id > after_id)
                           .order_by(CarvedObjectRow.id).limit(limit))
    return [{name: getattr(r, name) for name in CARVED_COLUMNS if name != "artifact_path"} for r in rows]


def custody(session: Session, case_name: str, limit: int, after_seq: int = 0, actions: tuple[str, ...] = ()) -> list[dict]:
    from evidence_store.custody.service import ROW_FIELDS

    query = (select(*[getattr(CustodyEvent, f) for f in ROW_FIELDS]).where(
        CustodyEvent.chain == case_name, CustodyEvent.seq > after_seq).order_by(CustodyEvent.seq).limit(limit))
    if actions:
        query = query.where(CustodyEvent.action.in_(actions))
    return [dict(zip(ROW_FIELDS, row)) for row in session.execute(query)]


def reports(session: Session, access: Access, case_id: int) -> list[dict]:
    query = select(Report).where(Report.case_id == case_id).order_by(Report.id)
    if not access.may(Permission.REPORT_DRAFTS):
        query = query.where(Report.state == ReportState.ISSUED)
    return [report_json(r) for r in session.scalars(query)]


def report_json(row: Report) -> dict:
    return {"id": row.report_id, "state": row.state.value, "sha256": row.sha256, "format": row.format.value,
            "edition": row.edition.value, "examiner": row.examiner, "reviewer": row.reviewer,
            "exhibits": row.exhibits, "findings": row.findings, "amends": row.amends,
            "superseded_by": row.superseded_by, "created_at": as_json_time(row.created_at),
            "authorised_at": as_json_time(row.authorised_at), "issued_at": as_json_time(row.issued_at)}


def report_row(session: Session, access: Access, report_id: str) -> tuple[Report, Case]:
    row = session.scalar(select(Report).where(Report.report_id == report_id))
    if row is None:
        raise Denied(404, "no such report")
    case = access.case_of(session, row.case_id, Permission.REPORTS)
    if row.state != ReportState.ISSUED and not access.may(Permission.REPORT_DRAFTS):
        raise Denied(404, "no such report")
    return row, case
