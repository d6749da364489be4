"""The portal's JSON API under /api/ (docs/portal.md): the same data the pages show.

Path parts are URL-encoded (an exhibit ``JS/1`` is ``JS%2F1``). Every route names its
permission in ``need(...)``; errors are a JSON ``{"error": "..."}`` with a 4xx status.
"""
from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from evidence_store.listings.files import FileFilter
from evidence_store.portal import data
from evidence_store.portal.access import Access, Denied, need
from evidence_store.portal.evidence import serve
from evidence_store.portal.rules import Permission
from evidence_store.portal.urls import param

router = APIRouter(prefix="/api")
Limit = Annotated[int | None, Query(ge=1, le=data.MAX_LIMIT)]


def _db(request: Request):
    return request.app.state.db


@router.get("/me")
def me(access: Access = Depends(need(Permission.SESSION))) -> dict:
    """Who is signed in; a cookie session also gets its CSRF token (to send as X-CSRF-Token)."""
    return {"name": access.principal.name, "role": access.principal.role.value, "via": access.signed.via,
            "csrf_token": access.signed.csrf}


@router.get("/cases")
def cases(request: Request, access: Access = Depends(need(Permission.CASES))) -> list[dict]:
    with _db(request).reading() as session:
        return data.cases(session, access)


@router.get("/cases/{case}/exhibits")
def exhibits(request: Request, access: Access = Depends(need(Permission.CASE))) -> list[dict]:
    with _db(request).reading() as session:
        return data.exhibits(session, access.case_id)


@router.get("/cases/{case}/exhibits/{exhibit}/progress")
def progress(request: Request, after_warning: int = Query(0, ge=0),
             access: Access = Depends(need(Permission.PROGRESS))) -> dict:
    from evidence_store.progress import progress as snapshot

    with _db(request).reading() as session:
        return snapshot(session, data.exhibit(session, access.case_id, param(request, "exhibit")),
                        after_warning).as_json()


@router.get("/cases/{case}/exhibits/{exhibit}/progress/stream")
async def progress_stream(request: Request, access: Access = Depends(need(Permission.PROGRESS))):
    """Server-sent events: a ``progress`` event (JSON) every second until the exhibit is finished."""
    from sse_starlette.sse import EventSourceResponse

    from evidence_store.progress import progress as snapshot

    number = param(request, "exhibit")

    def look(after: int) -> dict:
        with _db(request).reading() as session:
            return snapshot(session, data.exhibit(session, access.case_id, number), after).as_json()

    await run_in_threadpool(look, 0)          # 404 before the stream starts

    async def events():
        after = 0
        while True:
            state = await run_in_threadpool(look, after)
            after = state["last_warning_id"]
            yield {"event": "progress", "data": json.dumps(state)}
            if state["finished"] or await request.is_disconnected():
                return
            await asyncio.sleep(request.app.state.progress_interval)

    return EventSourceResponse(events())


@router.get("/cases/{case}/files")
def files(request: Request, exhibit: str | None = None, restricted: bool | None = None, limit: Limit = None,
          after: int = Query(0, ge=0), dir: str | None = Query(None, max_length=4096),
          q: str | None = Query(None, max_length=300), type: str | None = Query(None, max_length=100),
          finding: str | None = Query(None, pattern="^(any|none|yara|hashset|pdq)$"),
          known: str | None = Query(None, pattern="^(good|bad)$"), deleted: bool | None = None,
          derived: bool | None = None, access: Access = Depends(need(Permission.FILES))) -> list[dict]:
    with _db(request).reading() as session:
        exhibit_id = data.exhibit(session, access.case_id, exhibit).id if exhibit else None
        where = FileFilter(exhibit_id=exhibit_id, directory=dir, search=q, mime=type, deleted=deleted,
                           restricted=restricted, known=known, finding=finding, derived=derived)
        return data.files(session, access.case_id, where, data.limit_of(limit), after)


@router.get("/cases/{case}/findings")
def findings(request: Request, exhibit: str | None = None, limit: Limit = None, after: int = Query(0, ge=0),
             access: Access = Depends(need(Permission.FINDINGS))) -> list[dict]:
    with _db(request).reading() as session:
        exhibit_id = data.exhibit(session, access.case_id, exhibit).id if exhibit else None
        return data.findings(session, access.case_id, exhibit_id, data.limit_of(limit), after)


@router.get("/cases/{case}/exhibits/{exhibit}/carved")
def carved(request: Request, limit: Limit = None, after: int = Query(0, ge=0),
           access: Access = Depends(need(Permission.FILES))) -> list[dict]:
    with _db(request).reading() as session:
        row = data.exhibit(session, access.case_id, param(request, "exhibit"))
        return data.carved(session, row.id, data.limit_of(limit), after)


@router.get("/files/{item_id}")
def file_detail(request: Request, item_id: int, access: Access = Depends(need(Permission.FILES))) -> dict:
    from evidence_store.listings import as_json
    from evidence_store.listings.files import FileFilter, file_rows
    from evidence_store.models import Exhibit, FileEntry, Tag

    with _db(request).reading() as session:
        entry = session.get(FileEntry, item_id)
        if entry is None:
            raise Denied(404, "no such item")
        case = access.case_of(session, session.get(Exhibit, entry.exhibit_id).case_id, Permission.FILES)
        rows = list(file_rows(session, case.id, FileFilter(exhibit_id=entry.exhibit_id), limit=1,
                              after_id=item_id - 1))
        findings = [f for f in data.findings(session, case.id, entry.exhibit_id, data.MAX_LIMIT)
                    if f["item"] == "file" and f["item_id"] == item_id]
        tags = [t.tag for t in session.query(Tag).filter(Tag.item == "file", Tag.item_id == item_id)]
        return {**as_json(rows[0]), "case": case.name, "findings": findings, "tags": tags}


def _served(request: Request, access: Access, kind: str, item_id: int, what: str, purpose: str | None,
            reveal: bool) -> Response:
    item = serve(_db(request), access, kind, item_id, what, purpose, reveal)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": f'attachment; filename="{kind}-{item_id}.bin"' if what == "content"
               else "inline"}
    return StreamingResponse(item.chunks, media_type=item.media_type, headers=headers)


@router.get("/files/{item_id}/content")
def file_content(request: Request, item_id: int, purpose: str | None = Query(None, max_length=500),
                 access: Access = Depends(need(Permission.CASE))) -> Response:
    return _served(request, access, "file", item_id, "content", purpose, False)


@router.get("/files/{item_id}/thumbnail")
def file_thumbnail(request: Request, item_id: int, purpose: str | None = Query(None, max_length=500),
                   reveal: bool = False, access: Access = Depends(need(Permission.CASE))) -> Response:
    return _served(request, access, "file", item_id, "thumbnail", purpose, reveal)


@router.get("/carved/{item_id}/content")
def carved_content(request: Request, item_id: int, purpose: str | None = Query(None, max_length=500),
                   access: Access = Depends(need(Permission.CASE))) -> Response:
    return _served(request, access, "carved", item_id, "content", purpose, False)


@router.get("/carved/{item_id}/thumbnail")
def carved_thumbnail(request: Request, item_id: int, purpose: str | None = Query(None, max_length=500),
                     reveal: bool = False, access: Access = Depends(need(Permission.CASE))) -> Response:
    return _served(request, access, "carved", item_id, "thumbnail", purpose, reveal)


@router.post("/files/{item_id}/tags")
def tag_file(request: Request, item_id: int, tag: str = Form(..., min_length=1, max_length=100),
             note: str | None = Form(None, max_length=2000), access: Access = Depends(need(Permission.TAG))) -> dict:
    from evidence_store.models import Exhibit, FileEntry, Tag
    from evidence_store.store import upsert

    with _db(request).session() as session:
        entry = session.get(FileEntry, item_id)
        if entry is None:
            raise Denied(404, "no such item")
        case = access.case_of(session, session.get(Exhibit, entry.exhibit_id).case_id, Permission.TAG)
        upsert(session, Tag, [dict(case_id=case.id, item="file", item_id=item_id, tag=tag.strip(), note=note,
                                   user_id=access.principal.id)], keys=["case_id", "item", "item_id", "tag"])
    return {"file": item_id, "tag": tag.strip()}


@router.get("/cases/{case}/custody")
def custody(request: Request, limit: Limit = None, after: int = Query(0, ge=0),
            access: Access = Depends(need(Permission.CUSTODY))) -> list[dict]:
    with _db(request).reading() as session:
        return data.custody(session, access.case_name, data.limit_of(limit, 500), after)


@router.post("/cases/{case}/custody/verify")
def custody_verify(request: Request, access: Access = Depends(need(Permission.VERIFY))) -> dict:
    from evidence_store.custody.service import verify

    reports, anchor = verify(_db(request), access.case_name)
    report = reports[0] if reports else None
    return {"chain": access.case_name, "ok": bool(report and report.ok), "events": report.events if report else 0,
            "checkpoints": report.checkpoints if report else 0,
            "last_checkpoint_seq": report.last_checkpoint_seq if report else 0,
            "unprotected_tail": report.unprotected_tail if report else 0, "trust": anchor,
            "problems": [p.__dict__ for p in report.problems] if report else []}


@router.get("/cases/{case}/custody/export")
def custody_export(request: Request, purpose: str = Query("custody export for independent verification",
                                                          max_length=500),
                   access: Access = Depends(need(Permission.EXPORT))) -> Response:
    import io
    from datetime import datetime, timezone

    import forensics
    from evidence_store.custody.canonical import utc_text
    from evidence_store.custody.export import write_jsonl
    from evidence_store.custody.ledger import Event, append

    now = datetime.now(timezone.utc)
    db = _db(request)
    with db.session() as session:
        append(session, Event(action="export", actor=access.actor[0], actor_role=access.actor[1],
                              case_name=access.case_name, purpose=purpose, tool_name=forensics.TOOL_NAME,
                              tool_version=forensics.__version__, tool_parameters={"format": "jsonl", "via": "portal"},
                              idempotency_key=f"export:{access.case_name}:portal:{access.actor[0]}:{utc_text(now)}"))
    buffer = io.StringIO()
    with db.reading() as session:
        write_jsonl(session, access.case_name, buffer, utc_text(now))
    return Response(buffer.getvalue(), media_type="application/x-ndjson", headers={
        "Content-Disposition": "attachment; filename=custody.jsonl", "Cache-Control": "no-store"})


@router.get("/cases/{case}/views")
def views(request: Request, limit: Limit = None, after: int = Query(0, ge=0),
          access: Access = Depends(need(Permission.VIEWS))) -> list[dict]:
    with _db(request).reading() as session:
        return data.custody(session, access.case_name, data.limit_of(limit, 500), after,
                            data.VIEW_ACTIONS)


@router.get("/cases/{case}/reports")
def reports(request: Request, access: Access = Depends(need(Permission.REPORTS))) -> list[dict]:
    with _db(request).reading() as session:
        return data.reports(session, access, access.case_id)


@router.post("/cases/{case}/reports")
def report_create(request: Request, edition: str = Form("prosecution", pattern="^(prosecution|disclosure)$"),
                  format: str = Form("pdf", pattern="^(pdf|html)$"),
                  access: Access = Depends(need(Permission.REPORT_CREATE))) -> dict:
    from evidence_store.reports.workflow import create

    row = create(_db(request), access.case_name, examiner=access.principal.name, fmt=format, edition=edition,
                 actor=access.actor)
    return data.report_json(row)


@router.get("/reports/{report_id}")
def report(request: Request, report_id: str, access: Access = Depends(need(Permission.REPORTS))) -> dict:
    with _db(request).reading() as session:
        row, _case = data.report_row(session, access, report_id)
        return data.report_json(row)


@router.get("/reports/{report_id}/file")
def report_file(request: Request, report_id: str, access: Access = Depends(need(Permission.REPORTS))) -> Response:
    from fastapi.responses import FileResponse

    with _db(request).reading() as session:
        row, _case = data.report_row(session, access, report_id)
        path, fmt = row.path, row.format.value
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    return FileResponse(path, media_type=media, filename=path.rsplit("/", 1)[-1], headers={
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"})


@router.post("/reports/{report_id}/authorise")
def report_authorise(request: Request, report_id: str, note: str | None = Form(None, max_length=2000),
                     access: Access = Depends(need(Permission.REPORT_AUTHORISE))) -> dict:
    from evidence_store.reports.workflow import authorise

    with _db(request).reading() as session:
        data.report_row(session, access, report_id)
    return data.report_json(authorise(_db(request), report_id, reviewer=access.principal.name, note=note,
                                      actor=access.actor))


@router.post("/reports/{report_id}/issue")
def report_issue(request: Request, report_id: str, access: Access = Depends(need(Permission.REPORT_ISSUE))) -> dict:
    from evidence_store.reports.workflow import issue

    with _db(request).reading() as session:
        data.report_row(session, access, report_id)
    return data.report_json(issue(_db(request), report_id, actor=access.actor))


@router.get("/users")
def users(request: Request, access: Access = Depends(need(Permission.USERS))) -> list[dict]:
    from evidence_store.accounts import list_users

    return [{"name": u.name, "role": u.role.value, "disabled": u.disabled, "cases": cases}
            for u, cases in list_users(_db(request))]


@router.post("/users")
def user_add(request: Request, name: str = Form(..., min_length=1, max_length=200),
             role: str = Form(...), password: str = Form(..., min_length=1, max_length=1000),
             cases: str = Form("", max_length=4000), access: Access = Depends(need(Permission.USERS))) -> dict:
    from evidence_store.accounts import add_user

    listed = [c.strip() for c in cases.split(",") if c.strip()]
    user = add_user(_db(request), name, role, password, listed, actor=access.actor)
    return {"name": user.name, "role": user.role.value, "cases": listed}


@router.post("/users/{name}/disable")
def user_disable(request: Request, name: str, access: Access = Depends(need(Permission.USERS))) -> dict:
    from evidence_store.accounts import disable_user

    if name == access.principal.name:
        raise Denied(400, "an admin cannot disable their own account")
    disable_user(_db(request), name, actor=access.actor)
    return {"name": name, "disabled": True}


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})
