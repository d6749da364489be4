"""The case portal: one FastAPI application for technicians, examiners, reviewers, prosecutors,
auditors and admins (docs/portal.md).

``create_app(db_url)`` builds it; ``forensics serve`` runs it with uvicorn, and the Airflow
plugin mounts the same app inside the Airflow API server. Every response carries a strict
Content-Security-Policy; errors are one line (JSON under /api/, a small page elsewhere), never
a traceback; the access log names the route template, never the path or query (which can hold
file names, hashes or a stated purpose).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from evidence_store.db import Database
from evidence_store.store import StoreError
from evidence_store.portal.access import Denied, wants_json
from evidence_store.portal.auth import Sessions, portal_secret
from evidence_store.portal.urls import keep_slashes

STATIC = Path(__file__).with_name("static")
MAX_QUERY = 8192
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'")
log = logging.getLogger("forensics.portal")


def create_app(db_url: str | None = None, *, progress_interval: float = 1.0, migrate: bool = True) -> FastAPI:
    from evidence_store.portal import api, links, pages

    db = Database(db_url)
    if migrate:
        db.migrate()
    app = FastAPI(title="Forensics case portal", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.db = db
    app.state.sessions = Sessions(db, portal_secret(db))
    app.state.progress_interval = progress_interval
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(links.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.monotonic()
        if len(request.scope.get("query_string", b"")) > MAX_QUERY:
            response = _error(request, 414, f"query string longer than {MAX_QUERY} bytes")
        else:
            response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        route = request.scope.get("route")
        log.info("%s %s %s %.0fms", request.method, getattr(route, "path", "-"), response.status_code,
                 (time.monotonic() - started) * 1000)
        return response

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied):
        return _error(request, exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:]) or "request"
        return _error(request, 400, f"bad {where}: {first.get('msg', 'invalid value')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code, str(exc.detail) if exc.detail else "error")

    @app.exception_handler(StoreError)
    async def refused(request: Request, exc: StoreError):
        """A refusal with a reason (report workflow, accounts): the request conflicts with the state."""
        return _error(request, 409, str(exc).splitlines()[0])

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.error("unexpected %s on %s", type(exc).__name__, getattr(request.scope.get("route"), "path", "-"))
        return _error(request, 500, "internal error (the server log names the route)")

    app.router.add_event_handler("shutdown", db.dispose)
    return _wrap(app)


def _wrap(app: FastAPI) -> FastAPI:
    """Percent-encoded slashes stay inside one path part (see urls.py)."""
    inner = app.build_middleware_stack
    app.build_middleware_stack = lambda: keep_slashes(inner())
    return app


def _error(request: Request, status: int, message: str):
    as_json = wants_json(request)
    if status == 401 and not as_json:
        return RedirectResponse(_prefix(request) + "/login", status_code=303)
    if as_json:
        return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})
    from evidence_store.portal.pages import render_error

    return HTMLResponse(render_error(request, status, message), status_code=status)


def _prefix(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")
