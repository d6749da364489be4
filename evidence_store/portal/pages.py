"""The portal's pages: Jinja2, server-rendered, htmx for partial updates and SSE for progress.

Each page handler asks the same ``need(permission)`` as the API and renders the same rows
(``portal.data``). No page carries an inline script or style (the CSP forbids them); forms
post their session's CSRF token.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from evidence_store.listings import text_value
from evidence_store.listings.files import FILE_COLUMNS, FileFilter
from evidence_store.listings.findings import FINDING_COLUMNS
from evidence_store.portal import data
from evidence_store.portal.access import Access, Denied, is_browser, need, wants_json
from evidence_store.portal.auth import COOKIE, LOGIN_COOKIE, SignInRefused
from evidence_store.portal.rules import Permission
from evidence_store.portal.urls import param, part

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.filters.update(part=part, text=text_value, q=lambda v: quote("" if v is None else str(v), safe=""),
                             fromjson=lambda v: json.loads(v) if v else {})
router = APIRouter()


def render_page(request: Request, name: str, access: Access | None = None, status: int = 200,
                **context) -> HTMLResponse:
    base = request.scope.get("root_path", "").rstrip("/")
    return TEMPLATES.TemplateResponse(request, name, {
        "base": base, "access": access, "user": access.principal if access else None,
        "csrf": access.signed.csrf if access else None, "P": Permission, **context}, status_code=status,
        headers={"Cache-Control": "no-store"})


def render_error(request: Request, status: int, message: str) -> str:
    template = TEMPLATES.env.get_template("error.html")
    return template.render(request=request, base=request.scope.get("root_path", "").rstrip("/"), status=status,
                           message=message, user=None, access=None, P=Permission)


# --- signing in -----------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    import secrets

    token = secrets.token_urlsafe(24)
    response = render_page(request, "login.html", login_csrf=token)
    _cookie(request, response, LOGIN_COOKIE, token, max_age=900)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Form fields ``username``, ``password``; a browser form also carries the login CSRF token.

    A browser request (it sends Origin or Sec-Fetch-Site) must come from this site and carry the
    token set with the form; a client without cookies (curl, scripts) signs in with the fields
    alone. On success a new session cookie is set (HttpOnly, SameSite=Strict).
    """
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    name, password = str(form.get("username") or ""), str(form.get("password") or "")
    if is_browser(request):
        if not _same_site(request) or not form.get("csrf_token") or \
                form.get("csrf_token") != request.cookies.get(LOGIN_COOKIE):
            raise Denied(403, "sign-in refused: the form did not come from this portal (CSRF check)")
    if not name or not password or len(name) > 200 or len(password) > 1000:
        raise Denied(400, "give username and password")
    address = request.client.host if request.client else "unknown"
    try:
        cookie, signed = await run_in_threadpool(request.app.state.sessions.sign_in, name, password, address)
    except SignInRefused as refused:
        if wants_json(request):
            raise Denied(refused.status, refused.message) from None
        response = render_page(request, "login.html", status=refused.status, error=refused.message,
                           login_csrf=request.cookies.get(LOGIN_COOKIE, ""))
        return response
    target = request.scope.get("root_path", "").rstrip("/") + "/"
    response = Response(status_code=204) if wants_json(request) else RedirectResponse(target, status_code=303)
    _cookie(request, response, COOKIE, cookie, max_age=12 * 3600)
    response.delete_cookie(LOGIN_COOKIE, path=_cookie_path(request))
    return response


@router.post("/logout")
def logout(request: Request, access: Access = Depends(need(Permission.SESSION))) -> Response:
    request.app.state.sessions.sign_out(request.cookies.get(COOKIE))
    response = Response(status_code=204) if wants_json(request) else \
        RedirectResponse(request.scope.get("root_path", "").rstrip("/") + "/login", status_code=303)
    response.delete_cookie(COOKIE, path=_cookie_path(request))
    return response


def _same_site(request: Request) -> bool:
    """Fetch Metadata first (every current browser sends Sec-Fetch-Site); else the Origin header."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _cookie_path(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") + "/"


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=_cookie_path(request))


# --- pages ----------------------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def home(request: Request, access: Access = Depends(need(Permission.SESSION))) -> Response:
    target = "/admin/users" if access.may(Permission.USERS) else "/cases"
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + target, status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, access: Access = Depends(need(Permission.CASES))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        rows = data.cases(session, access)
    return render_page(request, "cases.html", access, cases=rows)


@router.get("/cases/{case}", response_class=HTMLResponse)
def case_page(request: Request, access: Access = Depends(need(Permission.CASE))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        exhibits = data.exhibits(session, access.case_id)
        reports = data.reports(session, access, access.case_id) if access.may(Permission.REPORTS) else []
    return render_page(request, "case.html", access, case=access.case_name, exhibits=exhibits, reports=reports)


@router.get("/cases/{case}/exhibits/{exhibit}", response_class=HTMLResponse)
def exhibit_page(request: Request, access: Access = Depends(need(Permission.PROGRESS))) -> HTMLResponse:
    from evidence_store.models import Volume
    from evidence_store.progress import progress

    number = param(request, "exhibit")
    with request.app.state.db.reading() as session:
        row = data.exhibit(session, access.case_id, number)
        state = progress(session, row, 0, warnings_limit=200)
        volumes = session.query(Volume).filter(Volume.exhibit_id == row.id).order_by(Volume.id).all()
        exhibit = next(e for e in data.exhibits(session, access.case_id) if e["number"] == number)
    return render_page(request, "exhibit.html", access, case=access.case_name, exhibit=exhibit, state=state,
                   volumes=volumes)


@router.get("/cases/{case}/exhibits/{exhibit}/progress-fragment", response_class=HTMLResponse)
def progress_fragment(request: Request, access: Access = Depends(need(Permission.PROGRESS))) -> HTMLResponse:
    from evidence_store.progress import progress

    with request.app.state.db.reading() as session:
        state = progress(session, data.exhibit(session, access.case_id, param(request, "exhibit")), 0,
                         warnings_limit=200)
    return render_page(request, "_progress.html", access, case=access.case_name, state=state)


@router.get("/cases/{case}/exhibits/{exhibit}/progress-events")
async def progress_events(request: Request, access: Access = Depends(need(Permission.PROGRESS))):
    """SSE for the exhibit page: the rendered progress fragment every second, then ``finished``."""
    import asyncio

    from sse_starlette.sse import EventSourceResponse
    from starlette.concurrency import run_in_threadpool

    from evidence_store.progress import progress

    number = param(request, "exhibit")
    template = TEMPLATES.env.get_template("_progress.html")

    def look():
        with request.app.state.db.reading() as session:
            return progress(session, data.exhibit(session, access.case_id, number), 0, warnings_limit=200)

    await run_in_threadpool(look)

    async def events():
        while True:
            state = await run_in_threadpool(look)
            yield {"event": "progress", "data": template.render(state=state).replace("\n", " ")}
            if state.finished:
                yield {"event": "finished", "data": state.status}
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(request.app.state.progress_interval)

    return EventSourceResponse(events())


@router.get("/cases/{case}/files", response_class=HTMLResponse)
def files_page(request: Request, exhibit: str | None = None, dir: str | None = Query(None, max_length=4096),
               q: str | None = Query(None, max_length=300), type: str | None = Query(None, max_length=100),
               finding: str | None = Query(None, pattern="^(|any|none|yara|hashset|pdq)$"),
               known: str | None = Query(None, pattern="^(|good|bad)$"),
               deleted: str | None = Query(None, pattern="^(|yes|no)$"),
               derived: str | None = Query(None, pattern="^(|yes|no)$"), after: int = Query(0, ge=0),
               access: Access = Depends(need(Permission.FILES))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        exhibits = data.exhibits(session, access.case_id)
        exhibit_id = data.exhibit(session, access.case_id, exhibit).id if exhibit else None
        directory = dir if dir is not None else (None if (q or type or finding or known or deleted or derived)
                                                 else "")
        where = FileFilter(exhibit_id=exhibit_id, directory=directory, search=q or None, mime=type or None,
                           deleted={"yes": True, "no": False}.get(deleted or ""), known=known or None,
                           finding=finding or None, derived={"yes": True, "no": False}.get(derived or ""))
        rows = data.files(session, access.case_id, where, 200, after)
    crumbs = _crumbs(directory)
    context = dict(case=access.case_name, exhibits=exhibits, rows=rows, columns=[c for c in FILE_COLUMNS if c.summary],
                   filters=dict(exhibit=exhibit or "", dir=directory, q=q or "", type=type or "", finding=finding or "",
                                known=known or "", deleted=deleted or "", derived=derived or ""), crumbs=crumbs)
    name = "_files_table.html" if request.headers.get("hx-request") else "files.html"
    return render_page(request, name, access, **context)


def _crumbs(directory: str | None) -> list[tuple[str, str]]:
    if directory is None:
        return []
    parts, crumbs, path = [p for p in directory.split("/") if p], [("/", "")], ""
    for piece in parts:
        path += "/" + piece
        crumbs.append((piece, path))
    return crumbs


@router.get("/files/{item_id}", response_class=HTMLResponse)
def file_page(request: Request, item_id: int, access: Access = Depends(need(Permission.FILES))) -> HTMLResponse:
    from evidence_store.portal.api import file_detail

    detail = file_detail(request, item_id, access)
    return render_page(request, "file.html", access, case=detail["case"], file=detail)


@router.get("/files/{item_id}/view", response_class=HTMLResponse)
def file_view(request: Request, item_id: int, purpose: str = Query(..., min_length=1, max_length=500),
              reveal: bool = False, access: Access = Depends(need(Permission.FILES))) -> HTMLResponse:
    """The fragment that shows a thumbnail once a purpose is stated (the image request is the view)."""
    from evidence_store.models import Exhibit, FileEntry

    with request.app.state.db.reading() as session:
        entry = session.get(FileEntry, item_id)
        if entry is None:
            raise Denied(404, "no such item")
        access.case_of(session, session.get(Exhibit, entry.exhibit_id).case_id, Permission.FILES)
    return render_page(request, "_thumbnail.html", access, item_id=item_id, purpose=purpose, reveal=reveal)


@router.get("/cases/{case}/findings", response_class=HTMLResponse)
def findings_page(request: Request, after: int = Query(0, ge=0),
                  access: Access = Depends(need(Permission.FINDINGS))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        rows = data.findings(session, access.case_id, None, 500, after)
    columns = [c for c in FINDING_COLUMNS if c.summary]
    return render_page(request, "findings.html", access, case=access.case_name, rows=rows, columns=columns)


@router.get("/cases/{case}/exhibits/{exhibit}/carved", response_class=HTMLResponse)
def carved_page(request: Request, access: Access = Depends(need(Permission.FILES))) -> HTMLResponse:
    number = param(request, "exhibit")
    with request.app.state.db.reading() as session:
        rows = data.carved(session, data.exhibit(session, access.case_id, number).id, 1000)
    return render_page(request, "carved.html", access, case=access.case_name, exhibit=number, rows=rows)


@router.get("/cases/{case}/custody", response_class=HTMLResponse)
def custody_page(request: Request, after: int = Query(0, ge=0),
                 access: Access = Depends(need(Permission.CUSTODY))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        rows = data.custody(session, access.case_name, 1000, after)
    return render_page(request, "custody.html", access, case=access.case_name, rows=rows)


@router.post("/cases/{case}/custody/verify-fragment", response_class=HTMLResponse)
def custody_verify_fragment(request: Request, access: Access = Depends(need(Permission.VERIFY))) -> HTMLResponse:
    from evidence_store.portal.api import custody_verify

    return render_page(request, "_verify.html", access, result=custody_verify(request, access))


@router.get("/cases/{case}/views", response_class=HTMLResponse)
def views_page(request: Request, access: Access = Depends(need(Permission.VIEWS))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        rows = data.custody(session, access.case_name, 1000, 0, data.VIEW_ACTIONS)
    return render_page(request, "views.html", access, case=access.case_name, rows=rows)


@router.get("/cases/{case}/reports", response_class=HTMLResponse)
def reports_page(request: Request, access: Access = Depends(need(Permission.REPORTS))) -> HTMLResponse:
    with request.app.state.db.reading() as session:
        rows = data.reports(session, access, access.case_id)
    return render_page(request, "reports.html", access, case=access.case_name, rows=rows)


@router.post("/cases/{case}/reports/{report_id}/{action}", response_class=HTMLResponse)
def report_action(request: Request, report_id: str, action: str, note: str | None = Form(None, max_length=2000),
                  access: Access = Depends(need(Permission.REPORTS))) -> Response:
    from evidence_store.portal import api

    if action == "authorise":
        if not access.may(Permission.REPORT_AUTHORISE):
            raise Denied(403, f"the {access.principal.role.value} role may not authorise reports")
        api.report_authorise(request, report_id, note, access)
    elif action == "issue":
        if not access.may(Permission.REPORT_ISSUE):
            raise Denied(403, f"the {access.principal.role.value} role may not issue reports")
        api.report_issue(request, report_id, access)
    else:
        raise Denied(404, "no such action")
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + f"/cases/{part(access.case_name)}/reports",
                            status_code=303)


@router.post("/cases/{case}/reports-new", response_class=HTMLResponse)
def report_new(request: Request, edition: str = Form("prosecution", pattern="^(prosecution|disclosure)$"),
               format: str = Form("pdf", pattern="^(pdf|html)$"),
               access: Access = Depends(need(Permission.REPORT_CREATE))) -> Response:
    from evidence_store.portal import api

    api.report_create(request, edition, format, access)
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + f"/cases/{part(access.case_name)}/reports",
                            status_code=303)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, access: Access = Depends(need(Permission.USERS))) -> HTMLResponse:
    from evidence_store.portal.api import users

    from evidence_store.models import Role

    return render_page(request, "users.html", access, users=users(request, access), roles=[r.value for r in Role])


@router.post("/admin/users", response_class=HTMLResponse)
def users_add(request: Request, name: str = Form(..., min_length=1, max_length=200), role: str = Form(...),
              password: str = Form(..., min_length=1, max_length=1000), cases: str = Form("", max_length=4000),
              access: Access = Depends(need(Permission.USERS))) -> Response:
    from evidence_store.portal.api import user_add

    user_add(request, name, role, password, cases, access)
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + "/admin/users", status_code=303)


@router.post("/admin/users/{name}/disable", response_class=HTMLResponse)
def users_disable(request: Request, name: str, access: Access = Depends(need(Permission.USERS))) -> Response:
    from evidence_store.portal.api import user_disable

    user_disable(request, param(request, "name"), access)
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + "/admin/users", status_code=303)
